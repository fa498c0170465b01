// wschannels C++17 header: RAII owners, lambdas and typed messages over the
// C ABI. Header-only; include <wschannels.hpp> (installed next to the C
// headers) and link wschannels::wschannels.
//
//   struct Ping { static constexpr const char *action = "ping"; wsc::none payload; };
//   WSC_FIELDS(Ping, payload)
//   wsc::consumer<> chat("chat");
//   chat.on([](wsc::conn &, const Ping &) { return Pong{}; });  // -> the sender
//   wsc::server srv({}, chat);
//   srv.run();
//
// Rules: no exception crosses into C. A handler that throws gets Chanx's
// generic error sent to its client ("Failed to process message for <action>")
// and is logged; the server keeps serving. Calls into this API throw
// wsc::error. Thread rules are the C API's (see docs/api.md): everything on
// the loop thread except wsc::sender.
#ifndef WSCHANNELS_HPP
#define WSCHANNELS_HPP

#include <wschannels/wschannels.h>

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "wschannels/json.hpp"

namespace wsc {

// What every failing call throws: the C code, its name and the message.
class error : public std::runtime_error {
 public:
  error(int code, const std::string &what) : std::runtime_error(what), code_(code) {}
  int code() const noexcept { return code_; }
  const char *name() const noexcept { return wsc_err_name(code_); }

 private:
  int code_;
};

namespace detail {
inline void check(int rc, const std::string &what, const char *detail = nullptr) {
  if (rc)
    throw error(rc, what + ": " + wsc_err_name(rc) + " (" + wsc_strerror(rc) + ")" +
                        (detail && *detail ? std::string(": ") + detail : std::string()));
}

// The arguments and result of a callable (lambdas, functions, functors).
template <class F>
struct signature : signature<decltype(&F::operator())> {};
template <class C, class R, class... A>
struct signature<R (C::*)(A...) const> {
  using result = R;
  using args = std::tuple<A...>;
};
template <class C, class R, class... A>
struct signature<R (C::*)(A...)> : signature<R (C::*)(A...) const> {};
template <class R, class... A>
struct signature<R (*)(A...)> {
  using result = R;
  using args = std::tuple<A...>;
};
// Functions, function references and pointers decay to pointers first.
template <class F>
struct callable : signature<std::decay_t<F>> {};
template <class F, std::size_t I>
using arg_t = std::decay_t<std::tuple_element_t<I, typename callable<F>::args>>;

// A std::function handed to C as user_data; C frees it with box_free.
using handler_fn = std::function<int(wsc_conn *, const cJSON *)>;
inline void box_free(void *p) { delete static_cast<handler_fn *>(p); }
// Called in a catch block: hands the exception's message to the C core,
// which logs it with the failure ("handler for 'x' failed: <what()>").
inline int failed(wsc_conn *c) noexcept {
  try {
    throw;
  } catch (const std::exception &e) {
    return wsc_conn_handler_failed(c, e.what());
  } catch (...) {
    return wsc_conn_handler_failed(c, "an exception that is not a std::exception");
  }
}
inline int trampoline(wsc_conn *c, const cJSON *msg, void *ud) noexcept {
  try {
    return (*static_cast<handler_fn *>(ud))(c, msg);
  } catch (...) {
    return failed(c);  // the C core sends Chanx's generic error and logs why
  }
}

template <class T>
std::string dump(const T &v) { return to_json(v); }
}  // namespace detail

// A connection, as seen from a handler (borrowed: valid during the call).
class conn {
 public:
  explicit conn(wsc_conn *c) : c_(c) {}
  wsc_conn *raw() const { return c_; }
  std::string channel() const { return wsc_conn_get_channel(c_); }
  std::string path() const { return wsc_conn_get_path(c_); }
  std::optional<std::string> path_param(const std::string &n) const {
    const char *v = wsc_conn_get_path_param(c_, n.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
  }
  std::optional<std::string> query_param(const std::string &n) const {
    const char *v = wsc_conn_get_query_param(c_, n.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
  }
  std::string consumer_name() const { return wsc_conn_get_consumer_name(c_); }

  // Who is connected (see docs/security.md).
  std::string peer_address() const { return wsc_conn_get_peer_address(c_); }
  std::optional<std::string> user_id() const {
    const char *u = wsc_conn_get_user_id(c_);
    return u ? std::optional<std::string>(u) : std::nullopt;
  }
  json claims() const { return json(wsc_conn_get_claims(c_)); }
  void set_user(const std::string &id, const json &claims = json()) {
    detail::check(wsc_conn_set_user(c_, id.c_str(), claims.get()), "set_user");
  }
  // A request header or cookie; only while authenticating.
  std::optional<std::string> header(const std::string &name) const {
    return copy_out([&](char *b, size_t n) { return wsc_conn_get_header(c_, name.c_str(), b, n); });
  }
  std::optional<std::string> cookie(const std::string &name) const {
    return copy_out([&](char *b, size_t n) { return wsc_conn_get_cookie(c_, name.c_str(), b, n); });
  }

  // Sends a typed message (or any JSON-encodable value) to this client.
  template <class M>
  void send(const M &m) {
    std::string s = detail::dump(m);
    detail::check(wsc_conn_send(c_, s.data(), s.size()), "send");
  }
  // Broadcasts a message to `groups` (empty: this connection's groups).
  template <class M>
  void broadcast(const M &m, const std::vector<std::string> &groups = {},
                 bool exclude_current = false) {
    std::string s = detail::dump(m);
    std::vector<const char *> g;
    for (const auto &x : groups) g.push_back(x.c_str());
    detail::check(wsc_conn_broadcast(c_, s.data(), s.size(), g.empty() ? nullptr : g.data(),
                                     g.size(), exclude_current ? WSC_EXCLUDE_CURRENT : 0u),
                  "broadcast", wsc_server_errmsg(wsc_conn_get_server(c_)));
  }
  void group_add(const std::string &g) {
    detail::check(wsc_conn_group_add(c_, g.c_str()), "group_add",
                  wsc_server_errmsg(wsc_conn_get_server(c_)));
  }
  void group_discard(const std::string &g) {
    detail::check(wsc_conn_group_discard(c_, g.c_str()), "group_discard");
  }
  void close(int code = 1000, const std::string &reason = "") {
    detail::check(wsc_conn_close(c_, code, reason.c_str()), "close");
  }

  // Per-connection state of type S, created on first use and destroyed when
  // the connection ends. Asking for another type throws.
  template <class S>
  S &state() {
    auto *h = static_cast<holder_base *>(wsc_conn_get_data(c_));
    if (!h) {
      h = new holder<S>();
      wsc_conn_set_data(c_, h, [](void *p) { delete static_cast<holder_base *>(p); });
    }
    auto *typed = dynamic_cast<holder<S> *>(h);
    if (!typed) throw error(WSC_EINVAL, "conn::state: the connection holds another type");
    return typed->value;
  }

 private:
  struct holder_base {
    virtual ~holder_base() = default;
  };
  template <class S>
  struct holder : holder_base {
    S value{};
  };
  template <class F>
  static std::optional<std::string> copy_out(F get) {
    std::string buf(256, '\0');
    for (;;) {
      int n = get(&buf[0], buf.size());
      if (n >= 0) return buf.substr(0, static_cast<size_t>(n));
      if (n != WSC_EINVAL || buf.size() >= 65536) return std::nullopt;
      buf.resize(buf.size() * 4);  // too small: try a bigger buffer
    }
  }
  wsc_conn *c_;
};

class server;

// Documentation for a handler (Chanx's ws_handler/event_handler arguments):
//   chat.on(handle_chat, wsc::doc().summary("Handle chat messages")
//                                  .output<ChatNotificationMessage>());
// The input schema always comes from the handler's message type, the output
// schema from its return type unless output<T>() names one.
class doc {
 public:
  doc &summary(std::string s) { summary_ = std::move(s); return *this; }
  doc &description(std::string s) { description_ = std::move(s); return *this; }
  doc &tags(std::vector<std::string> t) { tags_ = std::move(t); return *this; }
  template <class M>
  doc &output() {
    output_ = schema<M>();
    return *this;
  }

 private:
  template <class...>
  friend class consumer;
  std::string summary_, description_;
  std::vector<std::string> tags_;
  std::optional<std::string> output_;
};

// A consumer. `Events...`, when given, are the only event types that
// broadcast_event / send_event accept (Chanx's generic parameter); with none,
// any event type is accepted.
template <class... Events>
class consumer {
 public:
  explicit consumer(std::string name) : name_(std::move(name)) {
    wsc_consumer *c = nullptr;
    detail::check(wsc_consumer_new(name_.c_str(), &c), "consumer '" + name_ + "'");
    c_.reset(c);
  }
  consumer(consumer &&) noexcept = default;
  consumer &operator=(consumer &&) noexcept = default;
  consumer(const consumer &) = delete;
  consumer &operator=(const consumer &) = delete;

  const std::string &name() const { return name_; }
  consumer &description(const std::string &d) {
    detail::check(wsc_consumer_set_description(live(), d.c_str()), "description");
    return *this;
  }
  consumer &tag(const std::string &t) {
    detail::check(wsc_consumer_add_tag(live(), t.c_str()), "tag");
    return *this;
  }
  consumer &layer(const std::string &alias) {
    detail::check(wsc_consumer_set_layer(live(), alias.c_str()), "layer");
    layer_ = alias;
    return *this;
  }
  consumer &group(const std::string &g) {
    detail::check(wsc_consumer_add_group(live(), g.c_str()), "group");
    groups_.push_back(g);
    return *this;
  }

  // A WebSocket handler: f(conn&, const M&) where M is a message type; its
  // action picks the handler. A returned value is sent to the sender. Input
  // that does not decode into M gets Pydantic-style errors, per field.
  // M's JSON Schema is checked by the core before the handler runs.
  template <class F>
  consumer &on(F &&f, const doc &d = doc()) {
    return add<F>(std::forward<F>(f), wsc_consumer_on, true, d);
  }
  // An event handler: the same, for channel-layer events; a returned value
  // goes to this connection's client. Events that do not match are logged.
  template <class F>
  consumer &on_event(F &&f, const doc &d = doc()) {
    return add<F>(std::forward<F>(f), wsc_consumer_on_event, false, d);
  }

  // The same with a member function: on(this, &MyConsumer::handle_chat).
  // `obj` must outlive the server.
  template <class C, class R, class M>
  consumer &on(C *obj, R (C::*fn)(conn &, const M &), const doc &d = doc()) {
    return on([obj, fn](conn &c, const M &m) -> R { return (obj->*fn)(c, m); }, d);
  }
  template <class C, class R, class M>
  consumer &on_event(C *obj, R (C::*fn)(conn &, const M &), const doc &d = doc()) {
    return on_event([obj, fn](conn &c, const M &m) -> R { return (obj->*fn)(c, m); }, d);
  }

  // Chanx's options (send_completion, camelize, ...); see wsc_consumer_options.
  consumer &options(const wsc_consumer_options &o) {
    detail::check(wsc_consumer_set_options(live(), &o), "options");
    return *this;
  }

  // Lifecycle hooks (each replaces the previous one of its kind).
  consumer &authenticate(std::function<int(conn &)> f) { hooks_->auth = std::move(f); return rehook(); }
  consumer &on_connect(std::function<void(conn &)> f) { hooks_->connect = std::move(f); return rehook(); }
  consumer &on_disconnect(std::function<void(conn &, int)> f) { hooks_->disconnect = std::move(f); return rehook(); }
  // After authentication: 0 or an HTTP status (403 refuses).
  consumer &permit(std::function<int(conn &)> f) { hooks_->permit = std::move(f); return rehook(); }
  // May this connection join `group`? (static groups at the handshake,
  // runtime joins with an error to the client).
  consumer &may_join(std::function<bool(conn &, const std::string &)> f) {
    hooks_->may_join = std::move(f);
    return rehook();
  }

  // Events sent from anywhere on the loop thread, typed by `Events...`.
  template <class E>
  void broadcast_event(server &srv, const E &e, std::vector<std::string> groups = {}) const;
  template <class E>
  void send_event(server &srv, const E &e, const std::string &channel) const;

  // For wsc::server: hands the C consumer over (after this, only the name,
  // layer and groups remain here).
  wsc_consumer *release() { return c_.release(); }
  const std::string &layer_alias() const { return layer_; }

 private:
  template <class E>
  static constexpr bool declared() {
    return sizeof...(Events) == 0 || (std::is_same_v<E, Events> || ...);
  }
  wsc_consumer *live() {
    if (!c_) throw error(WSC_ECLOSED, "consumer '" + name_ + "' already belongs to a server");
    return c_.get();
  }

  template <class F, class Reg>
  consumer &add(F &&f, Reg reg, bool ws, const doc &d) {
    using M = detail::arg_t<F, 1>;
    using R = typename detail::callable<F>::result;
    static_assert(is_message<M>::value,
                  "wschannels: a handler's second parameter must be a message type (a "
                  "WSC_FIELDS struct with `static constexpr const char *action`)");
    wsc_consumer *target = live();  // throws before anything is allocated
    auto *box = new detail::handler_fn(
        [fn = std::forward<F>(f), ws](wsc_conn *c, const cJSON *msg) -> int {
          M m{};
          auto errs = from_json(msg, m, {std::string(M::action)});
          if (!errs.empty()) {
            if (ws) {  // the client sent it: tell the client what is wrong
              std::string frame = error_frame(errs);
              wsc_conn_send(c, frame.data(), frame.size());
              return 0;
            }
            return -1;  // an event: logged by the core
          }
          conn cc(c);
          if constexpr (std::is_void_v<R>) {
            fn(cc, m);
          } else {
            cc.send(fn(cc, m));
          }
          return 0;
        });
    std::string where = std::string(ws ? "on" : "on_event") + "('" + M::action + "')";
    detail::check(reg(target, M::action, detail::trampoline, box, detail::box_free), where);
    document<M, R>(ws, d, where);
    return *this;
  }

  template <class M, class R>
  void document(bool ws, const doc &d, const std::string &where) {
    std::string in = schema<M>(), out;
    if (d.output_)
      out = *d.output_;
    else if constexpr (has_fields<R>::value)
      out = schema<R>();
    std::vector<const char *> tags;
    for (const auto &t : d.tags_) tags.push_back(t.c_str());
    wsc_handler_doc hd;
    wsc_handler_doc_init(&hd);
    hd.input_schema = in.c_str();
    hd.output_schema = out.empty() ? nullptr : out.c_str();
    hd.summary = d.summary_.empty() ? nullptr : d.summary_.c_str();
    hd.description = d.description_.empty() ? nullptr : d.description_.c_str();
    hd.tags = tags.data();
    hd.ntags = tags.size();
    char err[WSC_ERRBUF_SIZE] = "";
    detail::check(wsc_consumer_document(c_.get(), ws ? WSC_WS_HANDLER : WSC_EVENT_HANDLER,
                                        M::action, &hd, err, sizeof err),
                  where, err);
  }

  struct hooks {
    std::function<int(conn &)> auth;
    std::function<void(conn &)> connect;
    std::function<void(conn &, int)> disconnect;
    std::function<int(conn &)> permit;
    std::function<bool(conn &, const std::string &)> may_join;
  };
  static int permit_tr(wsc_conn *c, void *ud) noexcept {
    try {
      conn cc(c);
      return (*static_cast<std::shared_ptr<hooks> *>(ud))->permit(cc);
    } catch (...) {
      detail::failed(c);
      return 500;
    }
  }
  static int may_join_tr(wsc_conn *c, const char *group, void *ud) noexcept {
    try {
      conn cc(c);
      return (*static_cast<std::shared_ptr<hooks> *>(ud))->may_join(cc, group) ? 0 : -1;
    } catch (...) {
      return -1;
    }
  }
  static int auth_tr(wsc_conn *c, void *ud) noexcept {
    try {
      conn cc(c);
      return (*static_cast<std::shared_ptr<hooks> *>(ud))->auth(cc);
    } catch (...) {
      detail::failed(c);
      return 500;
    }
  }
  static int connect_tr(wsc_conn *c, void *ud) noexcept {
    try {
      conn cc(c);
      (*static_cast<std::shared_ptr<hooks> *>(ud))->connect(cc);
      return 0;
    } catch (...) {
      return detail::failed(c);  // closes the connection (1011), logs why
    }
  }
  static void disconnect_tr(wsc_conn *c, int code, void *ud) noexcept {
    try {
      conn cc(c);
      (*static_cast<std::shared_ptr<hooks> *>(ud))->disconnect(cc, code);
    } catch (...) {
      detail::failed(c);  // logged by the C core
    }
  }
  consumer &rehook() {
    wsc_consumer_hooks h;
    wsc_consumer_hooks_init(&h);
    h.authenticate = hooks_->auth ? auth_tr : nullptr;
    h.on_connect = hooks_->connect ? connect_tr : nullptr;
    h.on_disconnect = hooks_->disconnect ? disconnect_tr : nullptr;
    h.permit = hooks_->permit ? permit_tr : nullptr;
    h.may_join = hooks_->may_join ? may_join_tr : nullptr;
    // The C consumer (which may outlive this object, inside a server) owns
    // a reference to the hooks and frees it when it is freed or rehooked.
    auto *ref = new std::shared_ptr<hooks>(hooks_);
    detail::check(wsc_consumer_set_hooks(live(), &h, ref, [](void *p) {
                    delete static_cast<std::shared_ptr<hooks> *>(p);
                  }),
                  "hooks");
    return *this;
  }

  struct consumer_free {
    void operator()(wsc_consumer *c) const { wsc_consumer_free(c); }
  };
  std::string name_, layer_ = "default";
  std::vector<std::string> groups_;
  std::unique_ptr<wsc_consumer, consumer_free> c_;
  std::shared_ptr<hooks> hooks_ = std::make_shared<hooks>();
};

namespace detail {
// What a wsc::server and its senders share: the C handle and whether a close
// has started (after which the C library frees the server by itself).
// `closing` is read and written on the loop thread only.
struct server_state {
  wsc_server *raw = nullptr;
  bool closing = false;
};

inline void close_once(server_state &st, wsc_close_cb cb = nullptr, void *ud = nullptr) {
  if (st.closing || !st.raw) return;
  st.closing = true;
  wsc_server_close(st.raw, cb, ud);
}
}  // namespace detail

// Sends from any thread to a running server (copies everything; the server
// must outlive the calls).
class sender {
 public:
  explicit sender(std::shared_ptr<detail::server_state> st) : st_(std::move(st)) {}
  template <class E>
  void send_event(const std::string &channel, const E &e, const char *alias = nullptr) const {
    std::string s = detail::dump(e);
    detail::check(wsc_server_send_event_threadsafe(raw(), alias, channel.c_str(), s.data(), s.size()),
                  "send_event");
  }
  template <class E>
  void broadcast_event(const std::string &group, const E &e, const char *alias = nullptr) const {
    std::string s = detail::dump(e);
    detail::check(wsc_server_broadcast_event_threadsafe(raw(), alias, group.c_str(), s.data(), s.size()),
                  "broadcast_event");
  }
  template <class M>
  void broadcast_message(const std::string &group, const M &m, const char *alias = nullptr) const {
    std::string s = detail::dump(m);
    detail::check(wsc_server_broadcast_message_threadsafe(raw(), alias, group.c_str(), s.data(), s.size()),
                  "broadcast_message");
  }
  // Starts closing the server, from any thread (its wsc::server then knows).
  void stop() const {
    auto *ref = new std::shared_ptr<detail::server_state>(st_);
    int rc = wsc_server_post(raw(), [](wsc_server *, void *ud) {
      auto *r = static_cast<std::shared_ptr<detail::server_state> *>(ud);
      detail::close_once(**r);
      delete r;
    }, ref);
    if (rc) delete ref;
    if (rc && rc != WSC_ECLOSED) detail::check(rc, "stop");
  }

 private:
  wsc_server *raw() const { return st_->raw; }
  std::shared_ptr<detail::server_state> st_;
};

// A server; move-only. Its destructor closes it unless a close has started
// (see wsc_server_close: on your loop the close completes as your loop runs;
// on a private loop that is not running, the destructor runs it until the
// close is done).
class server {
 public:
  struct options {
    uv_loop_t *loop = nullptr;  // nullptr: a private loop (use run())
    std::string config;         // a JSON config document, or empty
    std::string host = "127.0.0.1";
    int port = 8000;
    wsc_log_fn logger = nullptr;
    wsc_log_level log_level = WSC_LOG_ERROR;
  };

  template <class... C>
  explicit server(const options &o, C &...consumers) {
    wsc_server_options opts;
    wsc_server_options_init(&opts);
    opts.loop = o.loop;
    opts.config_json = o.config.empty() ? nullptr : o.config.c_str();
    opts.host = o.host.c_str();
    opts.port = o.port;
    opts.logger = o.logger;
    opts.log_level = o.log_level;
    std::vector<wsc_consumer *> cs{consumers.release()...};
    opts.consumers = cs.data();
    opts.n_consumers = cs.size();
    char err[WSC_ERRBUF_SIZE] = "";
    wsc_server *s = nullptr;
    int rc = wsc_server_new(&opts, &s, err, sizeof err);
    if (rc) {
      for (auto *c : cs) wsc_consumer_free(c);  // we took them; a failed create returns them
      throw error(rc, std::string("server: ") + err);
    }
    st_ = std::make_shared<detail::server_state>();
    st_->raw = s;
  }
  server(server &&) noexcept = default;
  server &operator=(server &&o) noexcept {
    if (this != &o) {
      if (st_) detail::close_once(*st_);
      st_ = std::move(o.st_);
    }
    return *this;
  }
  ~server() {
    if (st_) detail::close_once(*st_);
  }

  wsc_server *raw() const { return st_ ? st_->raw : nullptr; }
  int port() const { return wsc_server_get_port(raw()); }
  uv_loop_t *loop() const { return wsc_server_get_loop(raw()); }
  wsc::sender sender() const { return wsc::sender(st_); }

  // The counters of wschannels/stats.h; on the loop thread (else throws
  // WSC_ETHREAD: read them in a function given to wsc_server_post).
  wsc_server_stats stats() const {
    wsc_server_stats s{};
    s.struct_size = sizeof s;
    detail::check(wsc_server_get_stats(raw(), &s), "stats");
    return s;
  }
  wsc_layer_stats layer_stats(const std::string &alias = "default") const {
    wsc_layer_stats s{};
    s.struct_size = sizeof s;
    detail::check(wsc_server_get_layer_stats(raw(), alias.c_str(), &s), "layer_stats");
    return s;
  }

  // Runs a private loop until the server is closed (e.g. by sender().stop()).
  void run() {
    int rc = wsc_server_run(st_->raw);
    if (rc == 0) { /* closed and freed by the C library */
      st_->closing = true;
      st_->raw = nullptr;
    }
    detail::check(rc, "run");
  }
  // Starts closing now (once); `done` runs on the loop when all is released.
  void close(std::function<void()> done = {}) {
    if (!st_ || st_->closing) return;
    auto *box = done ? new std::function<void()>(std::move(done)) : nullptr;
    detail::close_once(*st_, box ? on_closed : nullptr, box);
  }

  template <class E>
  void broadcast_event(const std::string &alias, const std::string &group, const E &e) {
    std::string s = detail::dump(e);
    detail::check(wsc_server_broadcast_event(raw(), alias.c_str(), group.c_str(), s.data(), s.size()),
                  "broadcast_event", wsc_server_errmsg(raw()));
  }
  template <class E>
  void send_event(const std::string &alias, const std::string &channel, const E &e) {
    std::string s = detail::dump(e);
    detail::check(wsc_server_send_event(raw(), alias.c_str(), channel.c_str(), s.data(), s.size()),
                  "send_event", wsc_server_errmsg(raw()));
  }

 private:
  static void on_closed(void *ud) {
    auto *f = static_cast<std::function<void()> *>(ud);
    try {
      (*f)();
    } catch (...) {
    }
    delete f;
  }
  std::shared_ptr<detail::server_state> st_;
};

template <class... Events>
template <class E>
void consumer<Events...>::broadcast_event(server &srv, const E &e,
                                          std::vector<std::string> groups) const {
  static_assert(declared<E>(),
                "wschannels: this consumer does not declare this event type; add it to "
                "wsc::consumer<...> to send it");
  if (groups.empty()) groups = groups_;
  for (const auto &g : groups) srv.broadcast_event(layer_, g, e);
}

template <class... Events>
template <class E>
void consumer<Events...>::send_event(server &srv, const E &e, const std::string &channel) const {
  static_assert(declared<E>(),
                "wschannels: this consumer does not declare this event type; add it to "
                "wsc::consumer<...> to send it");
  srv.send_event(layer_, channel, e);
}

}  // namespace wsc

#endif
