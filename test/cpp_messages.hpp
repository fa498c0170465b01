// Typed messages shared by the C++ tests (and a second translation unit).
#ifndef WSC_TEST_CPP_MESSAGES_HPP
#define WSC_TEST_CPP_MESSAGES_HPP

#include <wschannels.hpp>

struct ChatPayload {
  std::string message;
  std::optional<std::string> room_name;
};
WSC_FIELDS(ChatPayload, message, room_name)

struct ChatMessage {
  static constexpr const char *action = "chat";
  ChatPayload payload;
};
WSC_FIELDS(ChatMessage, payload)

struct ChatNotification {
  static constexpr const char *action = "chat_notification";
  ChatPayload payload;
};
WSC_FIELDS(ChatNotification, payload)

struct Boom {
  static constexpr const char *action = "boom";
  wsc::none payload;
};
WSC_FIELDS(Boom, payload)

struct Point {
  int x;
  int y;
};
WSC_FIELDS(Point, x, y)

struct Shape {
  static constexpr const char *action = "shape";
  struct Payload {
    std::string name;
    std::vector<Point> points;
    std::optional<double> scale;
    bool filled;
    wsc::json extra;
  } payload;
};
WSC_FIELDS(Shape::Payload, name, points, scale, filled, extra)
WSC_FIELDS(Shape, payload)

struct Count {
  static constexpr const char *action = "count";
  wsc::none payload;
};
WSC_FIELDS(Count, payload)

struct Counted {
  static constexpr const char *action = "counted";
  int payload;
};
WSC_FIELDS(Counted, payload)

struct SystemNotify {
  static constexpr const char *action = "system_notify";
  std::string payload;
};
WSC_FIELDS(SystemNotify, payload)

struct SystemNotification {
  static constexpr const char *action = "system_notification";
  std::string payload;
};
WSC_FIELDS(SystemNotification, payload)

struct JobResult {
  static constexpr const char *action = "job_result";
  std::string payload;
};
WSC_FIELDS(JobResult, payload)

struct WhoAmI {
  static constexpr const char *action = "whoami";
  wsc::none payload;
};
WSC_FIELDS(WhoAmI, payload)

struct Me {
  static constexpr const char *action = "me";
  std::string payload;
};
WSC_FIELDS(Me, payload)

// Authentication tests: a client asks to join a group, and is told.
struct JoinMessage {
  static constexpr const char *action = "join";
  std::string payload;
};
WSC_FIELDS(JoinMessage, payload)

struct Joined {
  static constexpr const char *action = "joined";
  std::string payload;
};
WSC_FIELDS(Joined, payload)

// Defined in test_cpp_odr.cpp: the header compiles in a second TU without
// duplicate symbols.
std::string encode_in_other_tu(const ChatNotification &n);

#endif
