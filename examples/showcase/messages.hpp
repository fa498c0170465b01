// The seeds' message types (seed 000 showcase, seed 001 room chat, seed 002
// system jobs), as typed C++ messages. Their JSON Schemas, derived from these
// definitions, validate what clients send and document the API.
#ifndef WSC_SHOWCASE_MESSAGES_HPP
#define WSC_SHOWCASE_MESSAGES_HPP

#include <optional>
#include <string>

#include <wschannels/json.hpp>

namespace showcase {

struct PingMessage {
  static constexpr const char *action = "ping";
  wsc::none payload;
};
struct PongMessage {
  static constexpr const char *action = "pong";
  wsc::none payload;
};

// Seed 000: one consumer per channel layer.
struct ChatPayload {
  std::string message;
};
struct ChatMessage {
  static constexpr const char *action = "chat";
  ChatPayload payload;
};
struct ChatNotificationMessage {
  static constexpr const char *action = "chat_notification";
  ChatPayload payload;
};

struct ReliableChatPayload {
  std::string message;
};
struct ReliableChatMessage {
  static constexpr const char *action = "reliable_chat";
  ReliableChatPayload payload;
};
struct ReliableChatNotificationMessage {
  static constexpr const char *action = "reliable_chat_notification";
  ReliableChatPayload payload;
};

struct NotificationPayload {
  std::string type = "user";
  std::string message;
};
struct NotificationMessage {
  static constexpr const char *action = "notification";
  NotificationPayload payload;
};
struct NotificationBroadcastMessage {
  static constexpr const char *action = "notification_broadcast";
  NotificationPayload payload;
};

struct AnalyticsPayload {
  std::string event;
  wsc::json data;  // Any = None
};
struct AnalyticsMessage {
  static constexpr const char *action = "analytics";
  AnalyticsPayload payload;
};
struct AnalyticsNotificationMessage {
  static constexpr const char *action = "analytics_notification";
  AnalyticsPayload payload;
};

// Events sent from outside (external_sender.py, send_notification).
struct SystemNotify {
  static constexpr const char *action = "system_notify";
  std::string payload;
};
struct SystemPeriodicNotify {
  static constexpr const char *action = "system_periodic_notify";
  std::string payload;
};

// Seed 001: rooms.
struct RoomMessagePayload {
  std::string message;
  std::optional<std::string> room_name;
};
struct RoomChatMessage {
  static constexpr const char *action = "room_chat";
  RoomMessagePayload payload;
};
struct RoomNotificationMessage {
  static constexpr const char *action = "room_notification";
  RoomMessagePayload payload;
};

// Seed 002: background jobs.
struct TaskPayload {
  std::string task_type;
  std::string content;
};
struct SystemMessage {
  static constexpr const char *action = "system_message";
  TaskPayload payload;
};
struct JobQueued {
  static constexpr const char *action = "job_queued";
  std::string payload;
};
struct JobResult {
  static constexpr const char *action = "job_result";
  std::string payload;
};
struct SystemNotification {
  static constexpr const char *action = "system_notification";
  std::string payload;
};

}  // namespace showcase

WSC_FIELDS(showcase::PingMessage, payload)
WSC_FIELDS(showcase::PongMessage, payload)
WSC_FIELDS(showcase::ChatPayload, message)
WSC_FIELDS(showcase::ChatMessage, payload)
WSC_FIELDS(showcase::ChatNotificationMessage, payload)
WSC_FIELDS(showcase::ReliableChatPayload, message)
WSC_FIELDS(showcase::ReliableChatMessage, payload)
WSC_FIELDS(showcase::ReliableChatNotificationMessage, payload)
WSC_FIELDS(showcase::NotificationPayload, type, message)
WSC_DEFAULTS(showcase::NotificationPayload, "type")
WSC_FIELDS(showcase::NotificationMessage, payload)
WSC_FIELDS(showcase::NotificationBroadcastMessage, payload)
WSC_FIELDS(showcase::AnalyticsPayload, event, data)
WSC_DEFAULTS(showcase::AnalyticsPayload, "data")
WSC_FIELDS(showcase::AnalyticsMessage, payload)
WSC_FIELDS(showcase::AnalyticsNotificationMessage, payload)
WSC_FIELDS(showcase::SystemNotify, payload)
WSC_FIELDS(showcase::SystemPeriodicNotify, payload)
WSC_FIELDS(showcase::RoomMessagePayload, message, room_name)
WSC_FIELDS(showcase::RoomChatMessage, payload)
WSC_FIELDS(showcase::RoomNotificationMessage, payload)
WSC_FIELDS(showcase::TaskPayload, task_type, content)
WSC_FIELDS(showcase::SystemMessage, payload)
WSC_FIELDS(showcase::JobQueued, payload)
WSC_FIELDS(showcase::JobResult, payload)
WSC_FIELDS(showcase::SystemNotification, payload)

#endif
