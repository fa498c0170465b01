// Built against an installed wschannels: the C++ header works from there.
#include <cstdio>

#include <wschannels.hpp>

struct Ping {
  static constexpr const char *action = "ping";
  wsc::none payload;
};
WSC_FIELDS(Ping, payload)

int main() {
  wsc::consumer<> app("app");
  app.on([](wsc::conn &, const Ping &) {});
  wsc::server::options o;
  o.port = 0;
  o.config = R"({"routes":[{"path":"/ws","consumer":"app"}]})";
  wsc::server srv(o, app);
  std::printf("installed C++ header: served on port %d, %s\n", srv.port(),
              wsc::to_json(Ping{}).c_str());
  return 0;
}
