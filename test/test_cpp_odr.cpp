// A second translation unit including the header: catches non-inline
// definitions (uvw's test/odr.cpp).
#include "cpp_messages.hpp"

std::string encode_in_other_tu(const ChatNotification &n) { return wsc::to_json(n); }
