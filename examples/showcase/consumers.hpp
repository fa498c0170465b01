// The seeds' consumers on wschannels: the four showcase consumers of seed 000
// (one per channel layer), the room chat of seed 001 and the system consumer
// of seed 002, with their actions, texts, groups and API documentation.
#ifndef WSC_SHOWCASE_CONSUMERS_HPP
#define WSC_SHOWCASE_CONSUMERS_HPP

#include <ctime>
#include <functional>
#include <string>

#include <wschannels.hpp>

#include "messages.hpp"

namespace showcase {

using wsc::conn;
using wsc::doc;

inline doc ping_doc() {
  return doc().summary("Handle ping requests").description("Simple ping-pong for connectivity testing");
}

inline PongMessage pong(conn &, const PingMessage &) { return PongMessage{}; }

// seed 000: ChatConsumer, on the "chat" layer (Redis Pub/Sub).
inline wsc::consumer<SystemNotify> chat_consumer() {
  wsc::consumer<SystemNotify> c("chat");
  c.description("Basic Chat Consumer using centralized chat layer").tag("chat").tag("showcase");
  c.layer("chat").group("chat_room");
  c.on(pong, ping_doc());
  c.on([](conn &cn, const ChatMessage &m) {
         cn.broadcast(ChatNotificationMessage{{"💬 " + m.payload.message}});
       },
       doc().summary("Handle chat messages")
           .description("Process chat messages and broadcast to room")
           .output<ChatNotificationMessage>());
  c.on_connect([](conn &cn) { cn.broadcast(ChatNotificationMessage{{"📢 Someone joined the chat"}}); });
  c.on_disconnect([](conn &cn, int) { cn.broadcast(ChatNotificationMessage{{"❌ Someone left the chat."}}); });
  c.on_event([](conn &, const SystemNotify &e) { return ChatNotificationMessage{{e.payload}}; });
  return c;
}

// seed 000: ReliableChatConsumer, on the "queue" layer (Redis queue).
inline wsc::consumer<SystemNotify> reliable_chat_consumer() {
  wsc::consumer<SystemNotify> c("reliable_chat");
  c.description("Reliable Chat Consumer using queue-based layer").tag("chat").tag("reliable").tag("showcase");
  c.layer("queue").group("reliable_chat");
  c.on(pong, ping_doc());
  c.on([](conn &cn, const ReliableChatMessage &m) {
         cn.broadcast(ReliableChatNotificationMessage{{"📨 " + m.payload.message}}, {"reliable_chat"});
       },
       doc().summary("Handle reliable chat messages")
           .description("Process reliable chat messages with guaranteed delivery")
           .output<ReliableChatNotificationMessage>());
  c.on_connect([](conn &cn) {
    cn.broadcast(ReliableChatNotificationMessage{{"🔒 Reliable chat connection established!"}},
                 {"reliable_chat"});
  });
  c.on_disconnect([](conn &cn, int) {
    cn.broadcast(ReliableChatNotificationMessage{{"🚪 Left reliable chat!"}}, {"reliable_chat"});
  });
  c.on_event([](conn &, const SystemNotify &e) { return ChatNotificationMessage{{e.payload}}; });
  return c;
}

// seed 000: NotificationConsumer, on the "notifications" layer (Pub/Sub).
inline wsc::consumer<SystemNotify, SystemPeriodicNotify> notification_consumer() {
  wsc::consumer<SystemNotify, SystemPeriodicNotify> c("notifications");
  c.description("Notification Consumer for real-time notifications").tag("notifications").tag("showcase");
  c.layer("notifications").group("notifications");
  c.on(pong, ping_doc());
  c.on([](conn &cn, const NotificationMessage &m) {
         cn.broadcast(NotificationBroadcastMessage{{"user", "🔔 Notification: " + m.payload.message}});
       },
       doc().summary("Handle notification messages")
           .description("Process notification messages and broadcast to all clients")
           .output<NotificationBroadcastMessage>());
  c.on_connect([](conn &cn) {
    cn.broadcast(NotificationBroadcastMessage{{"system", "🔔 Connected to notifications!"}});
  });
  c.on_event([](conn &, const SystemNotify &e) {
    return NotificationBroadcastMessage{{"system", e.payload}};
  });
  c.on_event([](conn &, const SystemPeriodicNotify &e) {
    return NotificationBroadcastMessage{{"periodic", e.payload}};
  });
  return c;
}

// seed 000: AnalyticsConsumer, on the "analytics" layer (Redis queue).
inline wsc::consumer<SystemNotify> analytics_consumer() {
  wsc::consumer<SystemNotify> c("analytics");
  c.description("Analytics Consumer for reliable event delivery").tag("analytics").tag("showcase");
  c.layer("analytics").group("analytics");
  c.on(pong, ping_doc());
  c.on([](conn &cn, const AnalyticsMessage &m) {
         cn.broadcast(AnalyticsNotificationMessage{{"📊 Analytics: " + m.payload.event, m.payload.data}});
       },
       doc().summary("Handle analytics events")
           .description("Process analytics events with reliable delivery")
           .output<AnalyticsNotificationMessage>());
  c.on_event([](conn &, const SystemNotify &e) {
    return AnalyticsNotificationMessage{{e.payload, wsc::json()}};
  });
  return c;
}

// seed 001: RoomChatConsumer on /ws/room/{room_name}, on the "chat" layer.
inline wsc::consumer<> room_chat_consumer() {
  struct room {
    std::string name, group;
  };
  wsc::consumer<> c("room_chat");
  c.description("Room Chat Consumer - Dynamic room-based messaging").tag("chat").tag("rooms");
  c.layer("chat");
  c.on(pong, ping_doc());
  c.on([](conn &cn, const RoomChatMessage &m) {
         auto &r = cn.state<room>();
         cn.broadcast(RoomNotificationMessage{{"💬 " + m.payload.message, r.name}}, {r.group});
       },
       doc().summary("Handle room chat messages")
           .description("Process room chat messages and broadcast to room members")
           .output<RoomNotificationMessage>());
  c.on_connect([](conn &cn) {
    auto &r = cn.state<room>();
    r.name = cn.path_param("room_name").value_or("");
    r.group = "room_" + r.name;
    cn.group_add(r.group);
    cn.broadcast(RoomNotificationMessage{{"🚪 Someone joined room '" + r.name + "'", r.name}},
                 {r.group}, true);
  });
  c.on_disconnect([](conn &cn, int) {
    auto &r = cn.state<room>();
    if (r.group.empty()) return;
    cn.broadcast(RoomNotificationMessage{{"👋 Someone left room '" + r.name + "'", r.name}},
                 {r.group}, true);
  });
  return c;
}

// seed 002: SystemConsumer. `enqueue(job_id, task, channel_name)` hands the
// job to the worker, which answers with a JobResult event to that channel.
using enqueue_fn =
    std::function<void(const std::string &job_id, const TaskPayload &task, const std::string &channel)>;

inline wsc::consumer<JobResult, SystemNotification> system_consumer(enqueue_fn enqueue) {
  wsc::consumer<JobResult, SystemNotification> c("system");
  c.description("System Background Tasks WebSocket API").tag("system");
  c.group("system");
  c.on(pong, ping_doc());
  c.on([enqueue](conn &cn, const SystemMessage &m) {
         const auto &t = m.payload;
         std::string job_id = t.task_type + "_" + std::to_string(static_cast<long>(std::time(nullptr)));
         enqueue(job_id, t, cn.channel());
         return JobQueued{"⏳ Job queued: " + t.task_type + " for '" + t.content + "' (ID: " + job_id + ")"};
       },
       doc().summary("Handle system task message").description("Queue a background task for processing"));
  c.on_event([](conn &, const JobResult &e) { return e; },
             doc().summary("Handle job results sent back from background workers"));
  c.on_event([](conn &, const SystemNotification &e) { return e; },
             doc().summary("Handle system notifications broadcast from management commands"));
  return c;
}

}  // namespace showcase

#endif
