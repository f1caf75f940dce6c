// HTTP/2 keepalive, both ends of racerigd's channel: the server pings an idle
// client and drops a dead one (a watch from a vanished CI runner ends), the
// client pings a quiet server (a long WatchJob through a NAT or proxy stays
// open). The client never pings more often than the server permits, or the
// server would close the channel (GOAWAY "too_many_pings").
#pragma once

#include <grpcpp/grpcpp.h>

namespace racerig::client {

// The server's side: ping every 60 s, give up after 20 s without an answer,
// and accept client pings every 20 s or more, also without calls.
inline void set_server_keepalive(grpc::ServerBuilder& builder) {
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 20 * 1000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
}

// The client's side: ping every 30 s (above the server's 20 s minimum),
// give up after 10 s without an answer, also between calls.
inline void set_client_keepalive(grpc::ChannelArguments& args) {
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30 * 1000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10 * 1000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
}

}  // namespace racerig::client
