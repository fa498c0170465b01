// Must NOT compile: the consumer declares only SystemNotify, so broadcasting
// a JobResult is a type error (Chanx's generic parameter, checked by the
// compiler). cpp_compile_fail.sh checks the compiler's message.
#include "cpp_messages.hpp"

void misuse(wsc::server &srv) {
  wsc::consumer<SystemNotify> chat("chat");
  chat.broadcast_event(srv, SystemNotify{"fine"});  // declared: compiles
  chat.broadcast_event(srv, JobResult{"wrong"});    // not declared: error
}
