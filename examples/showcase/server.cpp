// The showcase server: the three Chanx tutorials (room chat, the multi-layer
// showcase, background jobs) on wschannels, with their web page at "/" and
// the API docs at /asyncapi/.
//
//   showcase_server [--config FILE] [--memory]
//
// The config (showcase.json) reads REDIS_URL, SHOWCASE_HOST, SHOWCASE_PORT
// and SHOWCASE_WEB from the environment. --memory puts every layer on the
// in-memory driver (no Redis; background jobs are then refused). Prints
// "PORT <n>" once listening; SIGINT or SIGTERM stop it.
#include <cjson/cJSON.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "consumers.hpp"
#include "job_queue.hpp"

namespace {

struct options {
  std::string config = "examples/showcase/showcase.json";
  bool memory = false;
};

options parse_args(int argc, char **argv) {
  options o;
  if (const char *c = std::getenv("SHOWCASE_CONFIG")) o.config = c;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--config" && i + 1 < argc) {
      o.config = argv[++i];
    } else if (a == "--memory") {
      o.memory = true;
    } else {
      std::cerr << "usage: showcase_server [--config FILE] [--memory]\n";
      std::exit(a == "--help" || a == "-h" ? 0 : 2);
    }
  }
  return o;
}

std::string read_file(const std::string &path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct cjson_deleter {
  void operator()(cJSON *p) const { cJSON_Delete(p); }
};
using cjson_ptr = std::unique_ptr<cJSON, cjson_deleter>;

std::string print(const cJSON *j) {
  char *s = cJSON_PrintUnformatted(j);
  std::string out = s ? s : "";
  cJSON_free(s);
  return out;
}

// The config with ${VAR} expanded; with --memory every layer is in-memory.
// `redis_url` gets the queue layer's URL ("" in memory mode).
std::string load_config(const options &o, std::string &redis_url) {
  std::string text = read_file(o.config);
  cJSON *doc = nullptr;
  char err[WSC_ERRBUF_SIZE] = "";
  if (wsc_config_parse(text.data(), text.size(), &doc, err, sizeof err))
    throw std::runtime_error(o.config + ": " + err);
  cjson_ptr d(doc);
  cJSON *layers = cJSON_GetObjectItemCaseSensitive(doc, "layers");
  if (o.memory) {
    for (cJSON *l = layers ? layers->child : nullptr; l; l = l->next) {
      while (l->child) cJSON_Delete(cJSON_DetachItemViaPointer(l, l->child));
      cJSON_AddStringToObject(l, "driver", "memory");
    }
  } else {
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(layers, "queue"), "url");
    if (cJSON_IsString(url)) redis_url = url->valuestring;
  }
  return print(doc);
}

// "redis://:secret@host:6379/0" -> "redis://:***@host:6379/0"
std::string masked(const std::string &url) {
  auto at = url.rfind('@');
  auto colon = url.find(':', 8);
  if (at == std::string::npos || colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

// What the page shows: the mode, and which parts need Redis.
std::string status_json(const std::string &redis_url) {
  cjson_ptr s(cJSON_CreateObject());
  cJSON_AddStringToObject(s.get(), "mode", redis_url.empty() ? "memory" : "redis");
  if (redis_url.empty())
    cJSON_AddNullToObject(s.get(), "redis");
  else
    cJSON_AddStringToObject(s.get(), "redis", masked(redis_url).c_str());
  cJSON *needs = cJSON_AddArrayToObject(s.get(), "needs_redis");
  for (const char *part : {"background jobs (/ws/system: a worker process runs them)",
                           "messages from other processes (external_sender.py, send_notification)",
                           "several server processes sharing groups"})
    cJSON_AddItemToArray(needs, cJSON_CreateString(part));
  return print(s.get());
}

struct app {
  std::unique_ptr<showcase::job_queue> jobs;
  wsc::server *srv = nullptr;
  bool stopping = false;
};

void send_result(app &a, const std::string &channel, const std::string &text) {
  if (a.stopping || !a.srv) return;
  try {
    a.srv->send_event("queue", channel, showcase::JobResult{text});
  } catch (const wsc::error &e) {
    std::cerr << "showcase: cannot send the job result: " << e.what() << "\n";
  }
}

uv_signal_t sigint, sigterm;

}  // namespace

int main(int argc, char **argv) {
  options opt = parse_args(argc, argv);
  app a;
  std::string redis_url, config;
  try {
    config = load_config(opt, redis_url);
  } catch (const std::exception &e) {
    std::cerr << "showcase: " << e.what() << "\n";
    return 1;
  }

  auto enqueue = [&a](const std::string &job_id, const showcase::TaskPayload &t,
                      const std::string &channel) {
    if (!a.jobs) {
      send_result(a, channel,
                  "❌ Background jobs need Redis and the worker: this showcase runs on "
                  "in-memory layers (start it with Redis to run jobs).");
      return;
    }
    cjson_ptr job(cJSON_CreateObject());
    cJSON_AddStringToObject(job.get(), "job_id", job_id.c_str());
    cJSON_AddStringToObject(job.get(), "task_type", t.task_type.c_str());
    cJSON_AddStringToObject(job.get(), "content", t.content.c_str());
    cJSON_AddStringToObject(job.get(), "channel_name", channel.c_str());
    a.jobs->push(print(job.get()), [&a, channel](const std::string &error) {
      if (!error.empty()) send_result(a, channel, "❌ The job could not be queued: " + error);
    });
  };

  auto room = showcase::room_chat_consumer();
  auto chat = showcase::chat_consumer();
  auto reliable = showcase::reliable_chat_consumer();
  auto notifications = showcase::notification_consumer();
  auto analytics = showcase::analytics_consumer();
  auto system = showcase::system_consumer(enqueue);
  wsc::server::options o;
  o.config = config;
  o.log_level = WSC_LOG_WARN;
  o.logger = wsc_log_stderr;
  std::unique_ptr<wsc::server> srv;
  try {
    srv = std::make_unique<wsc::server>(o, room, chat, reliable, notifications, analytics, system);
  } catch (const wsc::error &e) {
    std::cerr << "showcase: " << e.what() << "\n";
    return 1;
  }
  a.srv = srv.get();
  if (!redis_url.empty()) {
    showcase::redis_address addr;
    if (!showcase::redis_address::parse(redis_url, addr)) {
      std::cerr << "showcase: bad Redis URL " << masked(redis_url) << "\n";
      return 1;
    }
    a.jobs = std::make_unique<showcase::job_queue>(srv->loop(), addr);
  }
  std::string status = status_json(redis_url);
  wsc_server_add_http_content(srv->raw(), "/showcase/status.json", "application/json",
                              status.data(), status.size());

  for (uv_signal_t *s : {&sigint, &sigterm}) {
    uv_signal_init(srv->loop(), s);
    s->data = &a;
    uv_signal_start(s, [](uv_signal_t *h, int) {
      auto *ap = static_cast<app *>(h->data);
      if (ap->stopping) return;
      ap->stopping = true;
      ap->srv->close();
      uv_close(reinterpret_cast<uv_handle_t *>(&sigint), nullptr);
      uv_close(reinterpret_cast<uv_handle_t *>(&sigterm), nullptr);
    }, s == &sigint ? SIGINT : SIGTERM);
  }
  std::printf("PORT %d\n", srv->port());
  std::fflush(stdout);
  try {
    srv->run();
  } catch (const wsc::error &e) {
    std::cerr << "showcase: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
