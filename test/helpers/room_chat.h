/* The seeds' room chat consumer (seed 001), in C, for tests: /ws/room/{room_name},
 * room_chat -> room_notification "💬 ..." to group room_<name>, join and leave
 * notices to the others (exclude_current). */
#ifndef WSC_TEST_ROOM_CHAT_H
#define WSC_TEST_ROOM_CHAT_H

#include <wschannels/wschannels.h>

wsc_consumer *wst_room_chat_consumer(const char *name);

#endif
