// The showcase's consumers (examples/showcase/consumers.hpp) on in-memory
// layers, for the AsyncAPI tests: prints "PORT <n>" and serves until SIGTERM.
// Jobs are accepted and acknowledged but not run (no worker here).
#include <csignal>
#include <cstdio>
#include <string>

#include <uv.h>

#include "../../examples/showcase/consumers.hpp"

static const char *const kConfig = R"({
  "layers": {
    "default": {"driver": "memory"}, "chat": {"driver": "memory"},
    "queue": {"driver": "memory"}, "notifications": {"driver": "memory"},
    "analytics": {"driver": "memory"}
  },
  "routes": [
    {"path": "/ws", "include": [
      {"path": "/room/{room_name}", "consumer": "room_chat"},
      {"path": "/chat", "consumer": "chat"},
      {"path": "/reliable", "consumer": "reliable_chat"},
      {"path": "/notifications", "consumer": "notifications"},
      {"path": "/analytics", "consumer": "analytics"},
      {"path": "/system", "consumer": "system"}]}
  ],
  "asyncapi": {"title": "wschannels showcase", "version": "0.2.0",
               "description": "The seeds' consumers on wschannels"}
})";

static uv_signal_t sig;

int main() {
  auto room = showcase::room_chat_consumer();
  auto chat = showcase::chat_consumer();
  auto reliable = showcase::reliable_chat_consumer();
  auto notifications = showcase::notification_consumer();
  auto analytics = showcase::analytics_consumer();
  auto system = showcase::system_consumer([](const std::string &, const showcase::TaskPayload &,
                                             const std::string &) {});
  wsc::server::options o;
  o.port = 0;
  o.config = kConfig;
  wsc::server srv(o, room, chat, reliable, notifications, analytics, system);
  std::printf("PORT %d\n", srv.port());
  std::fflush(stdout);
  uv_signal_init(srv.loop(), &sig);
  sig.data = &srv;
  uv_signal_start(&sig, [](uv_signal_t *s, int) {
    static_cast<wsc::server *>(s->data)->close();
    uv_close(reinterpret_cast<uv_handle_t *>(s), nullptr);
  }, SIGTERM);
  srv.run();
  return 0;
}
