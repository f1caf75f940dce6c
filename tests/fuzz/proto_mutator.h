// A structure-aware mutator for the fuzz targets whose input is a protobuf
// message in its binary form (Debian bookworm packages no
// libprotobuf-mutator). mutate_message changes one field of a message
// through protobuf's reflection: a scalar gets a new value, a string or
// bytes field is mutated by libFuzzer's own byte mutator, a repeated field
// grows, shrinks or has an element changed, a message field (or a oneof
// case) is set, cleared or changed further down.
#pragma once

#include <google/protobuf/message.h>

#include <cstddef>
#include <cstdint>
#include <random>

namespace racerig::fuzz {

// One random change to `message`, reproducible from `seed`.
void mutate_message(google::protobuf::Message* message, unsigned int seed);

// libFuzzer's LLVMFuzzerCustomMutator for a target whose input is a
// serialized `prototype`: input that does not parse as one is mutated as
// bytes; input that does is changed by mutate_message and serialized
// again (as bytes when the result would exceed `max_size`).
size_t mutate_serialized(const google::protobuf::Message& prototype, uint8_t* data, size_t size, size_t max_size,
                         unsigned int seed);

}  // namespace racerig::fuzz
