// Typed messages shared by the C++ tests (and a second translation unit).
#ifndef WSC_TEST_CPP_MESSAGES_HPP
#define WSC_TEST_CPP_MESSAGES_HPP

#include <wschannels.hpp>

// A message whose payload is one string: most of the tests' messages.
#define WST_TEXT_MESSAGE(Name, action_name)                 \
  struct Name {                                             \
    static constexpr const char *action = action_name;      \
    std::string payload;                                    \
  };                                                        \
  WSC_FIELDS(Name, payload)

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

WST_TEXT_MESSAGE(SystemNotify, "system_notify")
WST_TEXT_MESSAGE(SystemNotification, "system_notification")
WST_TEXT_MESSAGE(JobResult, "job_result")

struct WhoAmI {
  static constexpr const char *action = "whoami";
  wsc::none payload;
};
WSC_FIELDS(WhoAmI, payload)

WST_TEXT_MESSAGE(Me, "me")

// Authentication tests: a client asks to join a group, and is told.
WST_TEXT_MESSAGE(JoinMessage, "join")
WST_TEXT_MESSAGE(Joined, "joined")

// Defined in test_cpp_odr.cpp: the header compiles in a second TU without
// duplicate symbols.
std::string encode_in_other_tu(const ChatNotification &n);

#endif
