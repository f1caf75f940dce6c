// The reflective protobuf mutator (see proto_mutator.h).
#include "tests/fuzz/proto_mutator.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace racerig::fuzz {

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr int kMaxRepeated = 32;
constexpr size_t kMaxString = 64 << 10;

// libFuzzer's byte mutator applied to a string.
std::string mutate_bytes(std::string value, std::mt19937& rng) {
  const size_t max = std::min(kMaxString, value.size() * 2 + 64);
  const size_t old = value.size();
  value.resize(max);
  const size_t got = LLVMFuzzerMutate(reinterpret_cast<uint8_t*>(value.data()), old, max);
  value.resize(got);
  (void)rng;
  return value;
}

// proto3 refuses a string field that is not UTF-8 (parsing fails, as gRPC's
// would): bytes that start no valid sequence become '?', so that a mutated
// string still reaches the code under test.
std::string valid_utf8(std::string s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
    if (ok && len == 2) ok = c >= 0xc2;  // no overlong forms
    if (ok && len == 3) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);  // overlong, surrogates
    }
    if (ok && len == 4) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = c <= 0xf4 && !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
    }
    if (!ok) {
      s[i] = '?';
      len = 1;
    }
    i += len;
  }
  return s;
}

// A new value near, at the edge of, or a bit away from `value` (computed
// unsigned: wrapping is the point, not undefined behaviour).
template <typename T>
T mutate_integer(T value, std::mt19937& rng) {
  using U = std::make_unsigned_t<T>;
  const U u = static_cast<U>(value);
  switch (rng() % 6) {
    case 0: return static_cast<T>(static_cast<U>(u + 1));
    case 1: return static_cast<T>(static_cast<U>(u - 1));
    case 2: return 0;
    case 3: return std::numeric_limits<T>::max();
    case 4: return std::numeric_limits<T>::min();
    default: return static_cast<T>(static_cast<U>(u ^ (U(1) << (rng() % (sizeof(T) * 8)))));
  }
}

// A string field's new value: bytes fields as the byte mutator leaves them,
// string fields made valid UTF-8.
std::string mutate_string(const FieldDescriptor* f, std::string value, std::mt19937& rng) {
  std::string out = mutate_bytes(std::move(value), rng);
  return f->type() == FieldDescriptor::TYPE_STRING ? valid_utf8(std::move(out)) : out;
}

void mutate_field(Message* message, const FieldDescriptor* field, int index, std::mt19937& rng, int depth);

// Sets `field` (not repeated, not a message) to a new value.
void mutate_scalar(Message* m, const Reflection* r, const FieldDescriptor* f, std::mt19937& rng) {
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: r->SetInt32(m, f, mutate_integer(r->GetInt32(*m, f), rng)); break;
    case FieldDescriptor::CPPTYPE_INT64: r->SetInt64(m, f, mutate_integer(r->GetInt64(*m, f), rng)); break;
    case FieldDescriptor::CPPTYPE_UINT32: r->SetUInt32(m, f, mutate_integer(r->GetUInt32(*m, f), rng)); break;
    case FieldDescriptor::CPPTYPE_UINT64: r->SetUInt64(m, f, mutate_integer(r->GetUInt64(*m, f), rng)); break;
    case FieldDescriptor::CPPTYPE_DOUBLE: r->SetDouble(m, f, r->GetDouble(*m, f) * -2 + 1); break;
    case FieldDescriptor::CPPTYPE_FLOAT: r->SetFloat(m, f, r->GetFloat(*m, f) * -2 + 1); break;
    case FieldDescriptor::CPPTYPE_BOOL: r->SetBool(m, f, !r->GetBool(*m, f)); break;
    case FieldDescriptor::CPPTYPE_ENUM:
      // Known values mostly; an unknown number now and then (proto3 keeps it).
      if (rng() % 4 != 0) {
        const auto* type = f->enum_type();
        r->SetEnumValue(m, f, type->value(static_cast<int>(rng() % type->value_count()))->number());
      } else {
        r->SetEnumValue(m, f, mutate_integer(r->GetEnumValue(*m, f), rng));
      }
      break;
    case FieldDescriptor::CPPTYPE_STRING: r->SetString(m, f, mutate_string(f, r->GetString(*m, f), rng)); break;
    case FieldDescriptor::CPPTYPE_MESSAGE: break;  // handled by the caller
  }
}

// Changes element `i` of repeated `f`.
void mutate_element(Message* m, const Reflection* r, const FieldDescriptor* f, int i, std::mt19937& rng, int depth) {
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      r->SetRepeatedInt32(m, f, i, mutate_integer(r->GetRepeatedInt32(*m, f, i), rng));
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      r->SetRepeatedInt64(m, f, i, mutate_integer(r->GetRepeatedInt64(*m, f, i), rng));
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      r->SetRepeatedUInt32(m, f, i, mutate_integer(r->GetRepeatedUInt32(*m, f, i), rng));
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      r->SetRepeatedUInt64(m, f, i, mutate_integer(r->GetRepeatedUInt64(*m, f, i), rng));
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE: r->SetRepeatedDouble(m, f, i, r->GetRepeatedDouble(*m, f, i) * -2 + 1); break;
    case FieldDescriptor::CPPTYPE_FLOAT: r->SetRepeatedFloat(m, f, i, r->GetRepeatedFloat(*m, f, i) * -2 + 1); break;
    case FieldDescriptor::CPPTYPE_BOOL: r->SetRepeatedBool(m, f, i, !r->GetRepeatedBool(*m, f, i)); break;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* type = f->enum_type();
      r->SetRepeatedEnumValue(m, f, i, type->value(static_cast<int>(rng() % type->value_count()))->number());
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING:
      r->SetRepeatedString(m, f, i, mutate_string(f, r->GetRepeatedString(*m, f, i), rng));
      break;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      if (depth > 0) mutate_message(r->MutableRepeatedMessage(m, f, i), static_cast<unsigned>(rng()));
      break;
  }
}

// Appends a default element to repeated `f` (a copy of an existing one half the time).
void add_element(Message* m, const Reflection* r, const FieldDescriptor* f, std::mt19937& rng) {
  const int size = r->FieldSize(*m, f);
  const bool copy = size > 0 && rng() % 2 == 0;
  const int from = copy ? static_cast<int>(rng() % size) : 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: r->AddInt32(m, f, copy ? r->GetRepeatedInt32(*m, f, from) : 0); break;
    case FieldDescriptor::CPPTYPE_INT64: r->AddInt64(m, f, copy ? r->GetRepeatedInt64(*m, f, from) : 0); break;
    case FieldDescriptor::CPPTYPE_UINT32: r->AddUInt32(m, f, copy ? r->GetRepeatedUInt32(*m, f, from) : 0); break;
    case FieldDescriptor::CPPTYPE_UINT64: r->AddUInt64(m, f, copy ? r->GetRepeatedUInt64(*m, f, from) : 0); break;
    case FieldDescriptor::CPPTYPE_DOUBLE: r->AddDouble(m, f, copy ? r->GetRepeatedDouble(*m, f, from) : 0); break;
    case FieldDescriptor::CPPTYPE_FLOAT: r->AddFloat(m, f, copy ? r->GetRepeatedFloat(*m, f, from) : 0); break;
    case FieldDescriptor::CPPTYPE_BOOL: r->AddBool(m, f, copy && r->GetRepeatedBool(*m, f, from)); break;
    case FieldDescriptor::CPPTYPE_ENUM:
      r->AddEnumValue(m, f, copy ? r->GetRepeatedEnumValue(*m, f, from) : f->enum_type()->value(0)->number());
      break;
    case FieldDescriptor::CPPTYPE_STRING: r->AddString(m, f, copy ? r->GetRepeatedString(*m, f, from) : ""); break;
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      std::unique_ptr<Message> element(copy ? r->GetRepeatedMessage(*m, f, from).New() : nullptr);
      if (copy) element->CopyFrom(r->GetRepeatedMessage(*m, f, from));
      Message* added = r->AddMessage(m, f);
      if (copy) added->CopyFrom(*element);
      break;
    }
  }
}

void mutate_field(Message* m, const FieldDescriptor* f, int /*index*/, std::mt19937& rng, int depth) {
  const Reflection* r = m->GetReflection();
  if (f->is_repeated()) {
    const int size = r->FieldSize(*m, f);
    const unsigned action = rng() % 4;
    if ((size == 0 || action == 0) && size < kMaxRepeated) {
      add_element(m, r, f, rng);
    } else if (action == 1 && size > 0) {
      if (size > 1) r->SwapElements(m, f, static_cast<int>(rng() % size), size - 1);
      r->RemoveLast(m, f);
    } else if (size > 0) {
      mutate_element(m, r, f, static_cast<int>(rng() % size), rng, depth - 1);
    }
    return;
  }
  if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    const bool has = r->HasField(*m, f);
    const unsigned action = rng() % 5;
    if (has && action == 0) {
      r->ClearField(m, f);
    } else if (depth > 0) {
      mutate_message(r->MutableMessage(m, f), static_cast<unsigned>(rng()));  // sets it (and its oneof case)
    }
    return;
  }
  if (rng() % 8 == 0) {
    r->ClearField(m, f);
    return;
  }
  mutate_scalar(m, r, f, rng);
}

}  // namespace

void mutate_message(Message* message, unsigned int seed) {
  std::mt19937 rng(seed);
  const auto* descriptor = message->GetDescriptor();
  if (descriptor->field_count() == 0) return;
  // Fields that are set are changed more often than unset ones.
  const Reflection* r = message->GetReflection();
  std::vector<const FieldDescriptor*> set;
  r->ListFields(*message, &set);
  const FieldDescriptor* field = !set.empty() && rng() % 3 != 0
                                     ? set[rng() % set.size()]
                                     : descriptor->field(static_cast<int>(rng() % descriptor->field_count()));
  mutate_field(message, field, 0, rng, /*depth=*/8);
}

size_t mutate_serialized(const Message& prototype, uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  std::unique_ptr<Message> message(prototype.New());
  if (!message->ParseFromArray(data, static_cast<int>(size))) return LLVMFuzzerMutate(data, size, max_size);
  mutate_message(message.get(), seed);
  std::string out;
  if (!message->SerializeToString(&out) || out.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
  std::copy(out.begin(), out.end(), data);
  return out.size();
}

}  // namespace racerig::fuzz
