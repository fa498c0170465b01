// wschannels' Python module: a channel layer (wsc_layer) on a loop thread of
// its own, for scripts, workers and cron jobs. The public API is the
// `wschannels` package around it (bindings/wschannels/__init__.py).
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <unistd.h>
#include <uv.h>

#include <condition_variable>
#include <csignal>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

extern "C" {
#include <wschannels/wschannels.h>
}

namespace py = pybind11;

namespace {

py::object error_class(int code);

// Raises the exception class for `code` with `msg`.
[[noreturn]] void raise(int code, const std::string &msg) {
  py::object cls = error_class(code);
  py::object e = cls(msg);
  e.attr("code") = code;
  e.attr("name") = wsc_err_name(code);
  PyErr_SetObject(cls.ptr(), e.ptr());
  throw py::error_already_set();
}

enum Kind { SEND_EVENT = 0, BROADCAST_EVENT = 1, BROADCAST_MESSAGE = 2 };

// A wsc_layer living on its own loop thread. Every call hops onto that
// thread through a locked queue and a uv_async (which coalesces, so the loop
// drains the whole queue).
class LoopLayer {
  using finish_fn = std::function<void(int, std::string)>;

 public:
  LoopLayer(const std::string &config, const std::string &alias) {
    std::string err;
    int rc = 0;
    {
      py::gil_scoped_release nogil;
      std::mutex m;
      std::condition_variable cv;
      bool ready = false;
      thread_ = std::thread([&] {
        sigset_t all;  // signals stay with Python's main thread
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, nullptr);
        uv_loop_init(&loop_);
        uv_async_init(&loop_, &async_, on_async);
        async_.data = this;
        uv_timer_init(&loop_, &retry_);
        retry_.data = this;
        char buf[WSC_ERRBUF_SIZE] = "";
        rc = wsc_layer_new(&loop_, config.c_str(), alias.c_str(), &layer_, buf, sizeof buf);
        err = buf;
        if (rc) close_handles();
        {
          std::lock_guard<std::mutex> g(m);
          ready = true;
        }
        cv.notify_one();
        uv_run(&loop_, UV_RUN_DEFAULT);
        uv_loop_close(&loop_);
      });
      std::unique_lock<std::mutex> l(m);
      cv.wait(l, [&] { return ready; });
      if (rc) {
        l.unlock();
        thread_.join();
      }
    }
    if (rc) raise(rc, err);
  }
  ~LoopLayer() { close(); }

  // Blocking: waits (without the GIL) for the layer's outcome; raises.
  void send_sync(int kind, const std::string &target, const std::string &json) {
    wait_on_loop([&](finish_fn finish) { start(kind, target, json, std::move(finish)); });
  }

  // Adds (or removes) a channel name to a group; waits for the answer.
  void group_sync(bool add, const std::string &group, const std::string &channel) {
    wait_on_loop([&](finish_fn finish) {
      int rc = add ? wsc_layer_group_add(layer_, group.c_str(), channel.c_str())
                   : wsc_layer_group_discard(layer_, group.c_str(), channel.c_str());
      finish(rc, rc ? wsc_layer_errmsg(layer_) : "");
    });
  }

  // The layer's counters (wschannels/stats.h), read on its thread, with the
  // sends this module holds back until Redis has room ("sends_waiting").
  py::dict stats() {
    wsc_layer_stats st{};
    size_t held = 0;
    wait_on_loop([&](finish_fn finish) {
      st.struct_size = sizeof st;
      int rc = wsc_layer_get_stats(layer_, &st);
      held = waiting_.size();
      finish(rc, "");
    });
    py::dict d;
    d["sends_taken"] = st.sends_taken;
    d["sends_refused"] = st.sends_refused;
    d["sends_ok"] = st.sends_ok;
    d["sends_failed"] = st.sends_failed;
    d["sends_pending"] = st.sends_pending;
    d["sends_waiting"] = held;
    d["dropped"] = st.dropped;
    d["backend_up"] = st.backend_up != 0;
    return d;
  }

  // Asynchronous: `cb(status, message)` is called from the loop thread,
  // with the GIL, once the outcome is known.
  void send_async(int kind, std::string target, std::string json, py::function cb) {
    auto *keep = new py::function(std::move(cb));  // released with the GIL held
    auto finish = [keep](int st, std::string text) {
      py::gil_scoped_acquire gil;
      try {
        (*keep)(st, text);
      } catch (py::error_already_set &e) {
        e.discard_as_unraisable("wschannels callback");
      }
      delete keep;
    };
    if (!post([this, kind, target = std::move(target), json = std::move(json), finish] {
          start(kind, target, json, finish);
        })) {
      finish(WSC_ECLOSED, "the layer is closed");
    }
  }

  void close() {
    py::gil_scoped_release nogil;
    {
      std::lock_guard<std::mutex> g(mu_);
      if (closed_ || !thread_.joinable()) return;
      closed_ = true;
      queue_.push_back([this] {
        for (auto &w : waiting_) w.finish(WSC_ECLOSED, "the layer is closed");
        waiting_.clear();
        wsc_layer_close(layer_, nullptr, nullptr);
        close_handles();
      });
      uv_async_send(&async_);
    }
    thread_.join();
  }

 private:
  // Runs op(finish) on the loop thread and waits, without the GIL, until it
  // calls finish(status, message); raises the status's exception.
  void wait_on_loop(const std::function<void(finish_fn)> &op) {
    int status = 0;
    std::string msg;
    {
      py::gil_scoped_release nogil;
      std::mutex m;
      std::condition_variable cv;
      bool done = false;
      finish_fn finish = [&](int st, std::string text) {
        std::lock_guard<std::mutex> g(m);
        status = st;
        msg = std::move(text);
        done = true;
        cv.notify_one();
      };
      if (!post([&] { op(finish); })) finish(WSC_ECLOSED, "the layer is closed");
      std::unique_lock<std::mutex> l(m);
      cv.wait(l, [&] { return done; });
    }
    if (status) raise(status, msg);
  }

  bool post(std::function<void()> f) {
    std::lock_guard<std::mutex> g(mu_);
    if (closed_) return false;
    queue_.push_back(std::move(f));
    uv_async_send(&async_);  // under the lock: close cannot slip in between
    return true;
  }

  static void on_async(uv_async_t *a) {
    auto *self = static_cast<LoopLayer *>(a->data);
    std::deque<std::function<void()>> q;
    {
      std::lock_guard<std::mutex> g(self->mu_);
      q.swap(self->queue_);
    }
    for (auto &f : q) f();
  }

  static void on_result(int status, const char *errmsg, void *ud) {
    auto *f = static_cast<finish_fn *>(ud);
    (*f)(status, errmsg ? errmsg : "");
    delete f;
  }

  // Sends; when the layer has no room (WSC_EAGAIN: Redis has not answered
  // max_pending_bytes of earlier sends), waits for room, in order, as an
  // awaited send should, instead of failing a burst of them.
  void start(int kind, const std::string &target, const std::string &json, finish_fn finish) {
    if (!waiting_.empty() || try_start(kind, target, json, finish) == WSC_EAGAIN) {
      waiting_.push_back({kind, target, json, std::move(finish)});
      if (!uv_is_active(reinterpret_cast<uv_handle_t *>(&retry_)))
        uv_timer_start(&retry_, on_retry, RETRY_MS, RETRY_MS);
    }
  }

  // Starts the send; WSC_EAGAIN leaves `finish` to the caller, any other
  // error known at once is passed to it.
  int try_start(int kind, const std::string &target, const std::string &json, finish_fn &finish) {
    auto *box = new finish_fn(std::move(finish));
    int rc = kind == SEND_EVENT
                 ? wsc_layer_send_event(layer_, target.c_str(), json.data(), json.size(), on_result, box)
                 : kind == BROADCAST_EVENT
                       ? wsc_layer_broadcast_event(layer_, target.c_str(), json.data(), json.size(),
                                                   on_result, box)
                       : wsc_layer_broadcast_message(layer_, target.c_str(), json.data(), json.size(),
                                                     on_result, box);
    if (rc == WSC_EAGAIN) {
      finish = std::move(*box);
    } else if (rc) {  // known at once: the callback will not run
      (*box)(rc, wsc_layer_errmsg(layer_));
    }
    if (rc) delete box;
    return rc;
  }

  static void on_retry(uv_timer_t *t) {
    auto *self = static_cast<LoopLayer *>(t->data);
    auto &w = self->waiting_;
    while (!w.empty() && self->try_start(w.front().kind, w.front().target, w.front().json,
                                         w.front().finish) != WSC_EAGAIN)
      w.pop_front();
    if (w.empty()) uv_timer_stop(t);
  }

  void close_handles() {
    uv_close(reinterpret_cast<uv_handle_t *>(&async_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t *>(&retry_), nullptr);
  }

  struct Waiting {
    int kind;
    std::string target, json;
    finish_fn finish;
  };
  static constexpr uint64_t RETRY_MS = 5;

  std::thread thread_;
  uv_loop_t loop_;
  uv_async_t async_;
  uv_timer_t retry_;
  std::deque<Waiting> waiting_;  // sends waiting for room, in order
  wsc_layer *layer_ = nullptr;
  std::mutex mu_;
  std::deque<std::function<void()>> queue_;
  bool closed_ = false;
};

// What Python holds: the layer of this process. A child forked after the
// layer was opened (Celery's prefork pool, gunicorn --preload,
// multiprocessing) has a copy of it but not its loop thread, so a send there
// would wait for ever. The child leaves the copy alone, never freed nor
// touched (its lock may have been held at the fork, its sockets are the
// parent's), and opens a layer of its own on first use. Calls come with the
// GIL held, which orders them.
class LayerThread {
 public:
  LayerThread(std::string config, std::string alias)
      : config_(std::move(config)), alias_(std::move(alias)),
        layer_(std::make_unique<LoopLayer>(config_, alias_)) {}
  ~LayerThread() {
    if (getpid() != pid_) (void)layer_.release();  // the parent's: left alone
  }

  void send_sync(int kind, const std::string &target, const std::string &json) {
    current().send_sync(kind, target, json);
  }
  void group_sync(bool add, const std::string &group, const std::string &channel) {
    current().group_sync(add, group, channel);
  }
  void send_async(int kind, std::string target, std::string json, py::function cb) {
    current().send_async(kind, std::move(target), std::move(json), std::move(cb));
  }
  py::dict stats() { return current().stats(); }
  void close() {
    if (getpid() == pid_) layer_->close();
    closed_ = true;
  }

 private:
  LoopLayer &current() {
    if (getpid() != pid_ && !closed_) {
      (void)layer_.release();
      layer_ = std::make_unique<LoopLayer>(config_, alias_);
      pid_ = getpid();
    }
    if (closed_ && getpid() != pid_) raise(WSC_ECLOSED, "the layer is closed");
    return *layer_;
  }

  std::string config_, alias_;
  pid_t pid_ = getpid();
  std::unique_ptr<LoopLayer> layer_;
  bool closed_ = false;
};

// Never freed: a static py::dict would be destroyed after the interpreter.
py::dict &error_classes = *new py::dict();

py::object error_class(int code) {
  py::object key = py::int_(code);
  if (error_classes.contains(key)) return error_classes[key];
  return error_classes[py::int_(0)];
}

}  // namespace

PYBIND11_MODULE(_wschannels, m) {
  m.doc() = "wschannels' C core for Python: channel layers on a loop thread.";
  m.attr("__version__") = wsc_version_string();

  py::object base = py::reinterpret_steal<py::object>(
      PyErr_NewExceptionWithDoc("wschannels.Error",
                                "A wschannels error; .code and .name give the C error.",
                                PyExc_Exception, nullptr));
  m.attr("Error") = base;
  auto sub = [&](const char *name, const char *doc, int code) {
    std::string full = std::string("wschannels.") + name;
    py::object cls = py::reinterpret_steal<py::object>(
        PyErr_NewExceptionWithDoc(full.c_str(), doc, base.ptr(), nullptr));
    m.attr(name) = cls;
    error_classes[py::int_(code)] = cls;
  };
  error_classes[py::int_(0)] = base;
  sub("ChannelFull", "The channel holds `capacity` unread messages.", WSC_EFULL);
  sub("LayerUnavailable", "The layer's backend (Redis) cannot be reached.", WSC_ELAYER);
  sub("ConfigError", "The configuration is wrong (the message names the key).", WSC_ECONFIG);
  sub("BadName", "A channel or group name is not valid.", WSC_EBADNAME);
  sub("UnknownAlias", "No layer with that alias in the configuration.", WSC_ENOTFOUND);
  sub("LayerClosed", "The layer was closed.", WSC_ECLOSED);
  error_classes[py::int_(int(WSC_EINVAL))] = py::module_::import("builtins").attr("ValueError");

  m.def("parse_config", [](const std::string &text) {
        cJSON *doc = nullptr;
        char err[WSC_ERRBUF_SIZE] = "";
        int rc = wsc_config_parse(text.data(), text.size(), &doc, err, sizeof err);
        if (rc) raise(rc, err);
        char *s = cJSON_PrintUnformatted(doc);
        std::string out = s;
        cJSON_free(s);
        cJSON_Delete(doc);
        return out;
      },
      "Parse a config document and expand ${VAR} / ${VAR:-default} from the environment, "
      "as every wschannels process does; returns the expanded JSON text.");
  m.def("is_valid_group_name", [](const std::string &n) { return wsc_group_name_is_valid(n.c_str()) != 0; },
        "Whether `n` is a valid group name (1-99 of A-Z a-z 0-9 - _ .).");
  m.def("is_valid_channel_name", [](const std::string &n) { return wsc_channel_name_is_valid(n.c_str()) != 0; },
        "Whether `n` is a valid channel name.");

  py::class_<LayerThread>(m, "LayerThread",
                          "A layer alias of a config document, on a loop thread of its own.")
      .def(py::init<std::string, std::string>(), py::arg("config"), py::arg("alias"),
           "Open layer `alias` of the config document (JSON text). Raises ConfigError, "
           "UnknownAlias or LayerUnavailable.")
      .def("send_sync", &LayerThread::send_sync, py::arg("kind"), py::arg("target"), py::arg("json"),
           "Send and wait for the outcome (the GIL is released while waiting). kind: 0 event "
           "to a channel, 1 event to a group, 2 message to a group.")
      .def("send_async", &LayerThread::send_async, py::arg("kind"), py::arg("target"),
           py::arg("json"), py::arg("callback"),
           "Send; callback(status, message) runs on the layer's thread once the outcome is known.")
      .def("group_sync", &LayerThread::group_sync, py::arg("add"), py::arg("group"),
           py::arg("channel"), "Add (add=True) or remove a channel name to a group.")
      .def("stats", &LayerThread::stats, "The layer's send counters, as a dict.")
      .def("close", &LayerThread::close, "Close the layer and stop its thread.");
  m.attr("SEND_EVENT") = int(SEND_EVENT);
  m.attr("BROADCAST_EVENT") = int(BROADCAST_EVENT);
  m.attr("BROADCAST_MESSAGE") = int(BROADCAST_MESSAGE);
}
