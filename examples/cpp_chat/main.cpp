// examples/cpp_chat: the seeds' ChatConsumer (seed 000) with the C++ header.
//
//   ./cpp_chat [port]     ws://127.0.0.1:8000/ws/chat
// Layer "chat": Redis Pub/Sub (prefix "chat") when REDIS_URL is set,
// otherwise in memory.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <uv.h>
#include <wschannels.hpp>

struct ChatPayload {
  std::string message;
};
WSC_FIELDS(ChatPayload, message)

struct PingMessage {
  static constexpr const char *action = "ping";
  std::optional<wsc::json> payload;
};
WSC_FIELDS(PingMessage, payload)

struct PongMessage {
  static constexpr const char *action = "pong";
  wsc::none payload;
};
WSC_FIELDS(PongMessage, payload)

struct ChatMessage {
  static constexpr const char *action = "chat";
  ChatPayload payload;
};
WSC_FIELDS(ChatMessage, payload)

struct ChatNotificationMessage {
  static constexpr const char *action = "chat_notification";
  ChatPayload payload;
};
WSC_FIELDS(ChatNotificationMessage, payload)

// An event other parts of the system send (see wschannels-send, worker.py).
struct SystemNotify {
  static constexpr const char *action = "system_notify";
  std::string payload;
};
WSC_FIELDS(SystemNotify, payload)

static ChatNotificationMessage notice(std::string text) { return {{std::move(text)}}; }

int main(int argc, char **argv) {
  wsc::consumer<SystemNotify> chat("chat");
  chat.description("Basic Chat Consumer using centralized chat layer")
      .tag("chat").tag("showcase").layer("chat").group("chat_room");

  chat.on([](wsc::conn &, const PingMessage &) { return PongMessage{}; });
  chat.on([](wsc::conn &c, const ChatMessage &m) {
    c.broadcast(notice("💬 " + m.payload.message));  // to chat_room
  });
  chat.on_event([](wsc::conn &, const SystemNotify &e) { return notice(e.payload); });
  chat.on_connect([](wsc::conn &c) { c.broadcast(notice("📢 Someone joined the chat")); });
  chat.on_disconnect([](wsc::conn &c, int) { c.broadcast(notice("❌ Someone left the chat.")); });

  wsc::server::options o;
  o.port = argc > 1 ? std::atoi(argv[1]) : 8000;
  o.config = std::getenv("REDIS_URL")
                 ? R"({"layers": {"chat": {"driver": "redis_pubsub", "url": "${REDIS_URL}", "prefix": "chat"}},
                      "routes": [{"path": "/ws/chat", "consumer": "chat"}]})"
                 : R"({"layers": {"chat": {"driver": "memory"}},
                      "routes": [{"path": "/ws/chat", "consumer": "chat"}]})";
  try {
    wsc::server srv(o, chat);
    uv_signal_t sig;
    uv_signal_init(srv.loop(), &sig);
    wsc::sender stopper = srv.sender();
    sig.data = &stopper;
    uv_signal_start_oneshot(&sig, [](uv_signal_t *s, int) {
      uv_close(reinterpret_cast<uv_handle_t *>(s), nullptr);
      static_cast<wsc::sender *>(s->data)->stop();
    }, SIGINT);
    std::printf("cpp_chat: ws://127.0.0.1:%d/ws/chat (Ctrl-C stops)\n", srv.port());
    std::fflush(stdout);
    srv.run();
  } catch (const wsc::error &e) {
    std::fprintf(stderr, "cpp_chat: %s\n", e.what());
    return 1;
  }
  return 0;
}
