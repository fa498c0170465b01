// Hands background jobs to the worker (worker.py) through a Redis list, as
// Celery's .delay() does in seed 002. The push runs on libuv's thread pool
// (hiredis, blocking, with timeouts) so the server's loop never waits on
// Redis; a job that cannot be queued is answered with a job_result saying so.
#ifndef WSC_SHOWCASE_JOB_QUEUE_HPP
#define WSC_SHOWCASE_JOB_QUEUE_HPP

#include <hiredis/hiredis.h>
#include <uv.h>

#include <cstdlib>
#include <functional>
#include <string>

namespace showcase {

constexpr const char *kJobList = "showcase:jobs";

// redis://[[user]:password@]host[:port][/db]
struct redis_address {
  std::string host = "127.0.0.1", password;
  int port = 6379, db = 0;
  static bool parse(const std::string &url, redis_address &out) {
    const std::string scheme = "redis://";
    if (url.compare(0, scheme.size(), scheme) != 0) return false;
    std::string rest = url.substr(scheme.size());
    auto at = rest.rfind('@');
    if (at != std::string::npos) {
      std::string cred = rest.substr(0, at);
      auto colon = cred.find(':');
      out.password = colon == std::string::npos ? cred : cred.substr(colon + 1);
      rest = rest.substr(at + 1);
    }
    auto slash = rest.find('/');
    if (slash != std::string::npos) {
      std::string db = rest.substr(slash + 1);
      out.db = db.empty() ? 0 : std::atoi(db.c_str());
      rest = rest.substr(0, slash);
    }
    auto colon = rest.rfind(':');
    if (colon != std::string::npos) {
      out.port = std::atoi(rest.substr(colon + 1).c_str());
      rest = rest.substr(0, colon);
    }
    if (!rest.empty()) out.host = rest == "localhost" ? "127.0.0.1" : rest;
    return out.port > 0;
  }
};

class job_queue {
 public:
  // `done(error)` runs on the loop: "" when the job is in Redis.
  using done_fn = std::function<void(const std::string &error)>;

  job_queue(uv_loop_t *loop, redis_address addr) : loop_(loop), addr_(std::move(addr)) {}

  void push(std::string job_json, done_fn done) {
    auto *w = new work{{}, this, std::move(job_json), {}, std::move(done)};
    w->req.data = w;
    if (uv_queue_work(loop_, &w->req, run, finish) != 0) {
      w->done("cannot start the job push");
      delete w;
    }
  }

 private:
  struct work {
    uv_work_t req;
    job_queue *q;
    std::string job, done_error;
    done_fn done;
  };
  // On a thread-pool thread: one short-lived connection per job keeps this
  // free of shared state; jobs are rare next to messages.
  static void run(uv_work_t *req) {
    auto *w = static_cast<work *>(req->data);
    const redis_address &a = w->q->addr_;
    timeval tv{1, 0};
    redisContext *c = redisConnectWithTimeout(a.host.c_str(), a.port, tv);
    if (!c || c->err) {
      w->done_error = c ? c->errstr : "out of memory";
      if (c) redisFree(c);
      return;
    }
    redisSetTimeout(c, tv);
    auto command_ok = [&](redisReply *r) {
      bool ok = r && r->type != REDIS_REPLY_ERROR;
      if (!ok) w->done_error = r ? r->str : c->errstr;
      if (r) freeReplyObject(r);
      return ok;
    };
    bool ok = true;
    if (!a.password.empty())
      ok = command_ok(static_cast<redisReply *>(redisCommand(c, "AUTH %s", a.password.c_str())));
    if (ok && a.db)
      ok = command_ok(static_cast<redisReply *>(redisCommand(c, "SELECT %d", a.db)));
    if (ok)
      command_ok(static_cast<redisReply *>(
          redisCommand(c, "LPUSH %s %b", kJobList, w->job.data(), w->job.size())));
    redisFree(c);
  }
  static void finish(uv_work_t *req, int) {
    auto *w = static_cast<work *>(req->data);
    w->done(w->done_error);
    delete w;
  }

  uv_loop_t *loop_;
  redis_address addr_;
};

}  // namespace showcase

#endif
