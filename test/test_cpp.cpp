// The C++ header against real sockets: typed round trip, per-field decode
// errors reaching the client, a throwing handler, void handlers, typed
// events, per-connection state, a cross-thread sender, move semantics and
// destruction order (clean under ASan).
#include <gtest/gtest.h>
#include <uv.h>

#include <atomic>
#include <cstring>
#include <future>
#include <thread>

#include "cpp_messages.hpp"

extern "C" {
#include "helpers/ws_client.h"
}
#include "helpers/log_capture.h"

namespace {

std::string recv(wst_client *c) {
  char *m = wst_recv(c, 5000);
  std::string s = m ? m : "(nothing)";
  free(m);
  return s;
}

// A server built with the C++ API on a loop run by a thread of its own.
class Served {
 public:
  template <class Build>
  explicit Served(Build build) {
    uv_sem_init(&ready_, 0);
    thread_ = std::thread([this, build] {
      uv_loop_init(&loop_);
      {
        auto srv = build(&loop_);
        server_ = &srv;
        port_ = srv.port();
        uv_sem_post(&ready_);
        uv_run(&loop_, UV_RUN_DEFAULT);  // until stop() closes the server
        server_ = nullptr;
        srv.close();  // already closing: a no-op
      }
      uv_run(&loop_, UV_RUN_DEFAULT);
      loop_close_rc_ = uv_loop_close(&loop_);
    });
    uv_sem_wait(&ready_);
  }
  ~Served() { stop(); }
  int port() const { return port_; }
  wsc::server &server() { return *server_; }
  // Runs f on the loop thread and waits.
  void call(std::function<void()> f) {
    struct job {
      std::function<void()> f;
      uv_sem_t done;
    } j{std::move(f), {}};
    uv_sem_init(&j.done, 0);
    ASSERT_EQ(wsc_server_post(server_->raw(), [](wsc_server *, void *ud) {
                auto *jj = static_cast<job *>(ud);
                jj->f();
                uv_sem_post(&jj->done);
              }, &j), 0);
    uv_sem_wait(&j.done);
    uv_sem_destroy(&j.done);
  }
  void stop() {
    if (!thread_.joinable()) return;
    server_->sender().stop();
    thread_.join();
    EXPECT_EQ(loop_close_rc_, 0);  // every handle released
    uv_sem_destroy(&ready_);
  }

 private:
  std::thread thread_;
  uv_loop_t loop_;
  uv_sem_t ready_;
  wsc::server *server_ = nullptr;
  int port_ = 0;
  int loop_close_rc_ = -1;
};

const char *ROUTES = "{\"routes\":[{\"path\":\"/ws/chat\",\"consumer\":\"chat\"}]}";

wsc::server::options opts(uv_loop_t *loop) {
  wsc::server::options o;
  o.loop = loop;
  o.port = 0;
  o.config = ROUTES;
  return o;
}

}  // namespace

TEST(Json, EncodesDecodesAndDescribesNestedTypes) {
  Shape s;
  s.payload = {"tri", {{0, 0}, {1, 2}}, 1.5, true, wsc::json::parse("{\"k\":[1]}")};
  std::string j = wsc::to_json(s);
  EXPECT_EQ(j, "{\"action\":\"shape\",\"payload\":{\"name\":\"tri\",\"points\":[{\"x\":0,"
               "\"y\":0},{\"x\":1,\"y\":2}],\"scale\":1.5,\"filled\":true,\"extra\":{\"k\":[1]}}}");
  cJSON *parsed = cJSON_Parse(j.c_str());
  Shape back;
  EXPECT_TRUE(wsc::from_json(parsed, back).empty());
  cJSON_Delete(parsed);
  EXPECT_EQ(back.payload.points[1].y, 2);
  EXPECT_EQ(*back.payload.scale, 1.5);
  EXPECT_EQ(back.payload.extra.dump(), "{\"k\":[1]}");
  EXPECT_EQ(wsc::schema<Point>(),
            "{\"title\":\"Point\",\"type\":\"object\",\"properties\":{\"x\":{\"type\":"
            "\"integer\"},\"y\":{\"type\":\"integer\"}},\"required\":[\"x\",\"y\"]}");
  EXPECT_EQ(encode_in_other_tu(ChatNotification{{"x", std::nullopt}}),
            "{\"action\":\"chat_notification\",\"payload\":{\"message\":\"x\",\"room_name\":null}}");
}

TEST(Server, TypedRoundTripErrorsThrowsAndVoid) {
  std::atomic<int> voids{0};
  Served s([&](uv_loop_t *loop) {
    wsc::consumer<> chat("chat");
    chat.description("Real-time chat").tag("chat");
    chat.on([](wsc::conn &, const ChatMessage &m) {
      return ChatNotification{{"💬 " + m.payload.message, m.payload.room_name}};
    });
    chat.on([](wsc::conn &, const Boom &) -> ChatNotification {
      throw std::runtime_error("kaboom");
    });
    chat.on([&](wsc::conn &, const Shape &) { voids++; });
    return wsc::server(opts(loop), chat);
  });
  wst_client *c = wst_open(s.port(), "/ws/chat");
  wst_send_text(c, "{\"action\":\"chat\",\"payload\":{\"message\":\"hi\"}}");
  EXPECT_EQ(recv(c), "{\"action\":\"chat_notification\",\"payload\":{\"message\":\"💬 hi\","
                     "\"room_name\":null}}");
  // Every problem, per field, Chanx's format; the handler never runs.
  wst_send_text(c, "{\"action\":\"shape\",\"payload\":{\"name\":7,\"points\":[{\"x\":1},"
                   "{\"x\":1.5,\"y\":2}],\"filled\":\"yes\"}}");
  EXPECT_EQ(recv(c),
            "{\"action\":\"error\",\"payload\":["
            "{\"type\":\"string_type\",\"loc\":[\"shape\",\"payload\",\"name\"],\"msg\":\"Input should be a valid string\"},"
            "{\"type\":\"missing\",\"loc\":[\"shape\",\"payload\",\"points\",0,\"y\"],\"msg\":\"Field required\"},"
            "{\"type\":\"int_from_float\",\"loc\":[\"shape\",\"payload\",\"points\",1,\"x\"],\"msg\":\"Input should be a valid integer, got a number with a fractional part\"},"
            "{\"type\":\"bool_type\",\"loc\":[\"shape\",\"payload\",\"filled\"],\"msg\":\"Input should be a valid boolean\"},"
            "{\"type\":\"missing\",\"loc\":[\"shape\",\"payload\",\"extra\"],\"msg\":\"Field required\"}]}");
  wst_send_text(c, "{\"action\":\"chat\"}");
  EXPECT_EQ(recv(c), "{\"action\":\"error\",\"payload\":[{\"type\":\"missing\",\"loc\":"
                     "[\"chat\",\"payload\"],\"msg\":\"Field required\"}]}");
  // A throwing handler: Chanx's generic error, and the server keeps serving.
  wst_send_text(c, "{\"action\":\"boom\",\"payload\":null}");
  EXPECT_EQ(recv(c), "{\"action\":\"error\",\"payload\":{\"detail\":\"Failed to process "
                     "message for boom\"}}");
  // A void handler sends nothing.
  wst_send_text(c, "{\"action\":\"shape\",\"payload\":{\"name\":\"t\",\"points\":[],"
                   "\"filled\":false,\"extra\":null}}");
  wst_send_text(c, "{\"action\":\"ping\"}");
  EXPECT_EQ(recv(c), "{\"action\":\"pong\",\"payload\":null}");
  EXPECT_EQ(voids.load(), 1);
  wst_close(c, 1000);
}

TEST(Server, StatsCountWhatClientsDid) {
  Served s([&](uv_loop_t *loop) {
    wsc::consumer<> chat("chat");
    chat.group("lobby");
    chat.on([](wsc::conn &c, const ChatMessage &m) {
      c.broadcast(ChatNotification{{"💬 " + m.payload.message, m.payload.room_name}});
    });
    return wsc::server(opts(loop), chat);
  });
  wst_client *c = wst_open(s.port(), "/ws/chat");
  wst_send_text(c, "{\"action\":\"chat\",\"payload\":{\"message\":\"hi\"}}");
  EXPECT_NE(recv(c).find("chat_notification"), std::string::npos);
  wst_send_text(c, "{\"action\":\"chat\"}");
  EXPECT_NE(recv(c).find("\"missing\""), std::string::npos);
  wsc_server_stats st{};
  wsc_layer_stats ls{};
  s.call([&] {
    st = s.server().stats();
    ls = s.server().layer_stats();
  });
  EXPECT_EQ(st.connections, 1u);
  EXPECT_EQ(st.messages_received, 2u);
  EXPECT_EQ(st.messages_rejected, 1u);
  EXPECT_EQ(st.frames_queued, 2u);
  EXPECT_EQ(ls.sends_taken, 1u);
  EXPECT_EQ(ls.received, 1u);
  // Off the loop thread it throws, as every loop-thread call does.
  try {
    s.server().stats();
    ADD_FAILURE() << "stats() off the loop thread did not throw";
  } catch (const wsc::error &e) {
    EXPECT_EQ(e.code(), WSC_ETHREAD);
  }
  int unknown_alias = 0;
  s.call([&] {
    try {
      s.server().layer_stats("nope");
    } catch (const wsc::error &e) {
      unknown_alias = e.code();
    }
  });
  EXPECT_EQ(unknown_alias, WSC_ENOTFOUND);
  wst_close(c, 1000);
}

TEST(Server, TypedEventsStateHooksAndSender) {
  std::atomic<int> connects{0}, disconnects{0};
  wsc::consumer<SystemNotify, JobResult> *chat_ptr = nullptr;
  std::unique_ptr<wsc::consumer<SystemNotify, JobResult>> keep;
  Served s([&](uv_loop_t *loop) {
    keep = std::make_unique<wsc::consumer<SystemNotify, JobResult>>("chat");
    auto &chat = *keep;
    chat_ptr = &chat;
    chat.group("everyone");
    chat.on([](wsc::conn &c, const Count &) { return Counted{++c.state<int>()}; });
    chat.on([](wsc::conn &c, const WhoAmI &) { return Me{c.channel()}; });
    chat.on_event([](wsc::conn &, const SystemNotify &e) {
      return SystemNotification{"📢 " + e.payload};
    });
    chat.on_event([](wsc::conn &c, const JobResult &r) { c.send(r); });
    chat.authenticate([](wsc::conn &c) { return c.query_param("token") ? 0 : 401; });
    chat.on_connect([&](wsc::conn &) { connects++; });
    chat.on_disconnect([&](wsc::conn &, int) { disconnects++; });
    return wsc::server(opts(loop), chat);
  });
  int st;
  EXPECT_EQ(wst_connect(s.port(), "/ws/chat", nullptr, &st), nullptr);
  EXPECT_EQ(st, 401);
  wst_client *a = wst_open(s.port(), "/ws/chat?token=1");
  wst_client *b = wst_open(s.port(), "/ws/chat?token=2");
  // State per connection.
  for (int i = 1; i <= 3; i++) {
    wst_send_text(a, "{\"action\":\"count\",\"payload\":null}");
    EXPECT_EQ(recv(a), "{\"action\":\"counted\",\"payload\":" + std::to_string(i) + "}");
  }
  wst_send_text(b, "{\"action\":\"count\",\"payload\":null}");
  EXPECT_EQ(recv(b), "{\"action\":\"counted\",\"payload\":1}");
  // A typed event broadcast to the consumer's groups runs each handler.
  s.call([&] { chat_ptr->broadcast_event(s.server(), SystemNotify{"maintenance"}); });
  EXPECT_EQ(recv(a), "{\"action\":\"system_notification\",\"payload\":\"📢 maintenance\"}");
  EXPECT_EQ(recv(b), "{\"action\":\"system_notification\",\"payload\":\"📢 maintenance\"}");
  EXPECT_EQ(connects.load(), 2);
  // A worker thread sends a result to one client's channel (the client
  // learned its channel name from a handler), then to everyone.
  wst_send_text(a, "{\"action\":\"whoami\",\"payload\":null}");
  std::string me = recv(a);
  cJSON *j = cJSON_Parse(me.c_str());
  std::string channel = cJSON_GetObjectItem(j, "payload")->valuestring;
  cJSON_Delete(j);
  wsc::sender snd = s.server().sender();
  std::thread worker([&] {
    snd.send_event(channel, JobResult{"yours"});
    snd.broadcast_event("everyone", JobResult{"done"});
  });
  worker.join();
  EXPECT_EQ(recv(a), "{\"action\":\"job_result\",\"payload\":\"yours\"}");
  EXPECT_EQ(recv(a), "{\"action\":\"job_result\",\"payload\":\"done\"}");
  EXPECT_EQ(recv(b), "{\"action\":\"job_result\",\"payload\":\"done\"}");
  wst_close(a, 1000);
  wst_close(b, 1000);
  for (int i = 0; i < 200 && disconnects.load() < 2; i++) uv_sleep(10);
  EXPECT_EQ(disconnects.load(), 2);
}

TEST(Server, MoveAndDestroy) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    wsc::consumer<> chat("chat");
    wsc::consumer<> moved = std::move(chat);
    moved.on([](wsc::conn &, const Boom &) {});
    wsc::server a(opts(&loop), moved);
    EXPECT_THROW(moved.on([](wsc::conn &, const Count &) {}), wsc::error);  // it's the server's
    wsc::server b = std::move(a);
    EXPECT_GT(b.port(), 0);
  }  // b closes; a holds nothing
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
  wsc::consumer<> bad("chat");
  wsc::server::options o = opts(nullptr);
  o.config = "{\"routes\":[{\"path\":\"/ws\",\"consumer\":\"other\"}]}";
  try {
    wsc::server s(o, bad);
    FAIL() << "expected wsc::error";
  } catch (const wsc::error &e) {
    EXPECT_EQ(e.code(), WSC_ECONFIG);
    EXPECT_NE(std::string(e.what()).find("unknown consumer 'other'"), std::string::npos);
  }
}

TEST(Server, PrivateLoopRunStoppedFromAnotherThread) {
  wsc::consumer<> chat("chat");
  chat.on([](wsc::conn &, const Count &) { return Counted{1}; });
  wsc::server srv(opts(nullptr), chat);
  wsc::sender snd = srv.sender();
  std::atomic<bool> served{false};
  std::thread client([&] {
    wst_client *c = wst_open(srv.port(), "/ws/chat");
    wst_send_text(c, "{\"action\":\"count\",\"payload\":null}");
    served = recv(c) == "{\"action\":\"counted\",\"payload\":1}";
    snd.stop();
    EXPECT_EQ(wst_wait_close(c, 5000), 1001);
    wst_close(c, 0);
  });
  srv.run();  // returns once the sender's stop has closed the server
  client.join();
  EXPECT_TRUE(served.load());
}

// Handlers as member functions of a user class holding its own state.
class RoomChat {
 public:
  explicit RoomChat(std::string prefix) : prefix_(std::move(prefix)) {}
  ChatNotification handle_chat(wsc::conn &, const ChatMessage &m) {
    seen_++;
    return ChatNotification{{prefix_ + m.payload.message, std::nullopt}};
  }
  SystemNotification system_notify(wsc::conn &, const SystemNotify &e) {
    return SystemNotification{e.payload};
  }
  int seen() const { return seen_; }

 private:
  std::string prefix_;
  int seen_ = 0;
};

TEST(Server, MemberFunctionHandlers) {
  RoomChat room("🚪 ");
  Served s([&](uv_loop_t *loop) {
    wsc::consumer<SystemNotify> chat("chat");
    chat.group("room").on(&room, &RoomChat::handle_chat).on_event(&room, &RoomChat::system_notify);
    return wsc::server(opts(loop), chat);
  });
  wst_client *c = wst_open(s.port(), "/ws/chat");
  wst_send_text(c, "{\"action\":\"chat\",\"payload\":{\"message\":\"in\"}}");
  EXPECT_EQ(recv(c), "{\"action\":\"chat_notification\",\"payload\":{\"message\":\"🚪 in\","
                     "\"room_name\":null}}");
  s.call([&] { s.server().broadcast_event("default", "room", SystemNotify{"hey"}); });
  EXPECT_EQ(recv(c), "{\"action\":\"system_notification\",\"payload\":\"hey\"}");
  EXPECT_EQ(room.seen(), 1);
  wst_close(c, 1000);
}

// Authentication from C++: headers, the user, permit and may_join.

TEST(Server, AuthenticationHooks) {
  wsc::consumer<> c("secure");
  c.authenticate([](wsc::conn &cn) {
    auto key = cn.header("X-Api-Key");
    if (!key) return 401;
    cn.set_user(*key == "k-alice" ? "alice" : "bob",
                wsc::json::parse("{\"cookie\":\"" + cn.cookie("theme").value_or("") + "\"}"));
    return 0;
  });
  c.permit([](wsc::conn &cn) { return cn.user_id() == std::optional<std::string>("bob") ? 403 : 0; });
  c.may_join([](wsc::conn &cn, const std::string &g) { return g != "vip" || cn.user_id() == "root"; });
  c.on([](wsc::conn &cn, const JoinMessage &m) {
    try {
      cn.group_add(m.payload);
      return Joined{"ok " + *cn.user_id() + " " + cn.peer_address() + " " + cn.claims().dump()};
    } catch (const wsc::error &e) {
      return Joined{e.name()};
    }
  });
  // The server lives on its loop's thread (conn calls check the thread).
  std::promise<std::pair<int, wsc::sender>> started;
  std::thread t([&] {
    wsc::server::options o;
    o.port = 0;
    o.config = "{\"routes\":[{\"path\":\"/s\",\"consumer\":\"secure\"}]}";
    wsc::server srv(o, c);
    started.set_value({srv.port(), srv.sender()});
    srv.run();
  });
  auto [port, sender] = started.get_future().get();
  int status = 0;
  EXPECT_EQ(wst_connect(port, "/s", nullptr, &status), nullptr);
  EXPECT_EQ(status, 401);
  EXPECT_EQ(wst_connect(port, "/s", "X-Api-Key: k-bob\r\n", &status), nullptr);
  EXPECT_EQ(status, 403);
  wst_client *a = wst_connect(port, "/s", "X-Api-Key: k-alice\r\nCookie: theme=dark\r\n", &status);
  ASSERT_NE(a, nullptr);
  wst_send_text(a, "{\"action\":\"join\",\"payload\":\"room1\"}");
  EXPECT_EQ(recv(a), "{\"action\":\"joined\",\"payload\":\"ok alice 127.0.0.1 {\\\"cookie\\\":\\\"dark\\\"}\"}");
  wst_send_text(a, "{\"action\":\"join\",\"payload\":\"vip\"}");
  EXPECT_EQ(recv(a), "{\"action\":\"error\",\"payload\":{\"detail\":\"You do not have permission to join 'vip'.\"}}");
  EXPECT_EQ(recv(a), "{\"action\":\"joined\",\"payload\":\"WSC_EDENIED\"}");
  wst_close(a, 1000);
  sender.stop();
  t.join();
}

// An exception thrown by a handler or hook: the client sees what it saw
// before (Chanx's generic error, a 1011 close, a 500 refusal), and the
// server's log line says what the exception said.

namespace {
bool logged(const std::string &needle) {
  char *line = wst_log_line(needle.c_str(), 5000);
  free(line);
  return line != nullptr;
}
}  // namespace

TEST(Server, ExceptionsReachTheLog) {
  Served s([](uv_loop_t *loop) {
    wsc::consumer<> chat("chat");
    chat.on([](wsc::conn &, const Boom &) -> ChatNotification {
      throw std::runtime_error("the ledger is locked");
    });
    chat.on([](wsc::conn &, const Count &) -> Counted { throw 42; });
    chat.on([](wsc::conn &c, const WhoAmI &) { c.group_add("no spaces"); });
    chat.on_disconnect([](wsc::conn &, int) { throw std::runtime_error("the audit log is full"); });
    wsc::consumer<> setup("setup");
    setup.on_connect([](wsc::conn &) { throw std::runtime_error("no session for this user"); });
    wsc::consumer<> guarded("guarded");
    guarded.authenticate([](wsc::conn &) -> int { throw std::runtime_error("the key store is down"); });
    wsc::server::options o = opts(loop);
    o.config = "{\"routes\":[{\"path\":\"/ws/chat\",\"consumer\":\"chat\"},"
               "{\"path\":\"/ws/setup\",\"consumer\":\"setup\"},"
               "{\"path\":\"/ws/guarded\",\"consumer\":\"guarded\"}]}";
    o.logger = wst_log_capture;
    o.log_level = WSC_LOG_INFO;
    return wsc::server(o, chat, setup, guarded);
  });
  wst_client *c = wst_open(s.port(), "/ws/chat");
  wst_send_text(c, "{\"action\":\"boom\",\"payload\":null}");
  EXPECT_EQ(recv(c), "{\"action\":\"error\",\"payload\":{\"detail\":\"Failed to process "
                     "message for boom\"}}");
  EXPECT_TRUE(logged("handler for 'boom' failed: the ledger is locked"));
  wst_send_text(c, "{\"action\":\"count\",\"payload\":null}");
  EXPECT_EQ(recv(c), "{\"action\":\"error\",\"payload\":{\"detail\":\"Failed to process "
                     "message for count\"}}");
  EXPECT_TRUE(logged("handler for 'count' failed: an exception that is not a std::exception"));
  // The wrapper's own exception carries the library's reason.
  wst_send_text(c, "{\"action\":\"whoami\",\"payload\":null}");
  EXPECT_EQ(recv(c), "{\"action\":\"error\",\"payload\":{\"detail\":\"Failed to process "
                     "message for whoami\"}}");
  EXPECT_TRUE(logged("handler for 'whoami' failed: group_add: WSC_EBADNAME (invalid channel or "
                     "group name): invalid group name 'no spaces'"));
  wst_close(c, 1000);
  EXPECT_TRUE(logged("on_disconnect failed: the audit log is full"));

  wst_client *d = wst_open(s.port(), "/ws/setup");
  EXPECT_EQ(wst_wait_close(d, 5000), 1011);
  EXPECT_TRUE(logged("on_connect failed: no session for this user; closing (1011)"));
  wst_close(d, 0);

  int status = 0;
  EXPECT_EQ(wst_connect(s.port(), "/ws/guarded", nullptr, &status), nullptr);
  EXPECT_EQ(status, 500);
  EXPECT_TRUE(logged("refused (500): the key store is down"));
  // The client was told nothing of it.
}
