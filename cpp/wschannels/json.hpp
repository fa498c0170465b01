// wschannels C++: typed messages <-> JSON, with Pydantic-style errors.
//
//   struct ChatPayload { std::string message; std::optional<std::string> room_name; };
//   WSC_FIELDS(ChatPayload, message, room_name)
//   struct ChatMessage { static constexpr const char *action = "chat"; ChatPayload payload; };
//   WSC_FIELDS(ChatMessage, payload)
//
// Supported field types: std::string, bool, integers, floating point,
// std::optional<T> (may be missing or null), std::vector<T>, structs described
// with WSC_FIELDS, wsc::json (any JSON value), and wsc::none (always null).
#ifndef WSCHANNELS_JSON_HPP
#define WSCHANNELS_JSON_HPP

#include <cjson/cJSON.h>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace wsc {

// Any JSON value, owned (a deep copy of what it is given).
class json {
 public:
  json() = default;
  explicit json(const cJSON *v) : v_(v ? cJSON_Duplicate(v, 1) : nullptr) {}
  static json parse(const std::string &text) {
    json j;
    j.v_.reset(cJSON_ParseWithLength(text.data(), text.size()));
    return j;
  }
  json(const json &o) : json(o.get()) {}
  json &operator=(const json &o) {
    if (this != &o) v_.reset(o.get() ? cJSON_Duplicate(o.get(), 1) : nullptr);
    return *this;
  }
  json(json &&) noexcept = default;
  json &operator=(json &&) noexcept = default;
  const cJSON *get() const { return v_.get(); }
  std::string dump() const {
    if (!v_) return "null";
    char *s = cJSON_PrintUnformatted(v_.get());
    std::string out = s ? s : "null";
    cJSON_free(s);
    return out;
  }

 private:
  struct deleter {
    void operator()(cJSON *p) const { cJSON_Delete(p); }
  };
  std::unique_ptr<cJSON, deleter> v_;
};

// A field that is always null (Chanx's `payload: None`).
struct none {};

// One validation problem, as Pydantic reports it: {"type","loc","msg"}.
struct field_error {
  std::string type;
  std::vector<std::variant<std::string, long>> loc;
  std::string msg;
};

namespace detail {

template <class T, class M>
struct field {
  const char *name;
  M T::*member;
};
template <class T, class M>
constexpr field<T, M> make_field(const char *n, M T::*m) {
  return {n, m};
}

using loc_t = std::vector<std::variant<std::string, long>>;

// "ns::ChatMessage" -> "ChatMessage": what Pydantic calls the model.
inline const char *short_name(const char *n) {
  const char *s = n;
  for (const char *p = n; *p; p++)
    if (p[0] == ':' && p[1] == ':') s = p + 2;
  return s;
}

}  // namespace detail

// Specialized by WSC_FIELDS: `static constexpr auto list()` returns a tuple of
// detail::field, and `name` is the type's name.
template <class T>
struct fields;

// Specialized by WSC_DEFAULTS: the fields that may be missing from the JSON
// and then keep the value their member initializer gives them (Pydantic's
// `type: str = "user"`); the schema lists that value as "default".
template <class T>
struct field_defaults {
  static bool has(const char *) { return false; }
};

template <class T, class = void>
struct has_fields : std::false_type {};
template <class T>
struct has_fields<T, std::void_t<decltype(fields<T>::list())>> : std::true_type {};

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};

// A message: a WSC_FIELDS struct with `static constexpr const char *action`.
template <class T, class = void>
struct is_message : std::false_type {};
template <class T>
struct is_message<T, std::void_t<decltype(T::action)>> : has_fields<T> {};

// ---- encoding ---------------------------------------------------------------

template <class T>
cJSON *to_cjson(const T &v);

namespace detail {
template <class T>
cJSON *encode_object(const T &v) {
  cJSON *o = cJSON_CreateObject();
  if constexpr (is_message<T>::value) cJSON_AddStringToObject(o, "action", T::action);
  std::apply([&](auto... f) { (cJSON_AddItemToObject(o, f.name, to_cjson(v.*(f.member))), ...); },
             fields<T>::list());
  return o;
}
}  // namespace detail

template <class T>
cJSON *to_cjson(const T &v) {
  if constexpr (std::is_same_v<T, std::string>) return cJSON_CreateString(v.c_str());
  else if constexpr (std::is_same_v<T, bool>) return cJSON_CreateBool(v);
  else if constexpr (std::is_integral_v<T> || std::is_floating_point_v<T>)
    return cJSON_CreateNumber(static_cast<double>(v));
  else if constexpr (std::is_same_v<T, none>) return cJSON_CreateNull();
  else if constexpr (std::is_same_v<T, json>)
    return v.get() ? cJSON_Duplicate(v.get(), 1) : cJSON_CreateNull();
  else if constexpr (is_optional<T>::value)
    return v ? to_cjson(*v) : cJSON_CreateNull();
  else if constexpr (is_vector<T>::value) {
    cJSON *a = cJSON_CreateArray();
    for (const auto &e : v) cJSON_AddItemToArray(a, to_cjson(e));
    return a;
  } else {
    static_assert(has_fields<T>::value,
                  "wschannels: describe this type with WSC_FIELDS(Type, field, ...)");
    return detail::encode_object(v);
  }
}

// The compact JSON text of a value.
template <class T>
std::string to_json(const T &v) {
  cJSON *o = to_cjson(v);
  char *s = cJSON_PrintUnformatted(o);
  std::string out = s ? s : "null";
  cJSON_free(s);
  cJSON_Delete(o);
  return out;
}

// ---- decoding ---------------------------------------------------------------

template <class T>
void from_cjson(const cJSON *j, T &out, detail::loc_t &loc, std::vector<field_error> &errs);

namespace detail {
inline void add_error(std::vector<field_error> &errs, const loc_t &loc, const char *type,
                      std::string msg) {
  errs.push_back({type, loc, std::move(msg)});
}

template <class T>
void decode_object(const cJSON *j, T &out, loc_t &loc, std::vector<field_error> &errs) {
  if (!cJSON_IsObject(j)) {
    add_error(errs, loc, "model_type",
              std::string("Input should be a valid dictionary or instance of ") +
                  short_name(fields<T>::name));
    return;
  }
  std::apply(
      [&](auto... f) {
        auto one = [&](auto fd) {
          using M = std::remove_reference_t<decltype(out.*(fd.member))>;
          const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, fd.name);
          loc.emplace_back(std::string(fd.name));
          if (!v) {
            if constexpr (!is_optional<M>::value && !std::is_same_v<M, none>)
              if (!field_defaults<T>::has(fd.name))
                add_error(errs, loc, "missing", "Field required");
          } else {
            from_cjson(v, out.*(fd.member), loc, errs);
          }
          loc.pop_back();
        };
        (one(f), ...);
      },
      fields<T>::list());
}
}  // namespace detail

template <class T>
void from_cjson(const cJSON *j, T &out, detail::loc_t &loc, std::vector<field_error> &errs) {
  using detail::add_error;
  if constexpr (std::is_same_v<T, std::string>) {
    if (cJSON_IsString(j)) out = j->valuestring;
    else add_error(errs, loc, "string_type", "Input should be a valid string");
  } else if constexpr (std::is_same_v<T, bool>) {
    if (cJSON_IsBool(j)) out = cJSON_IsTrue(j);
    else add_error(errs, loc, "bool_type", "Input should be a valid boolean");
  } else if constexpr (std::is_integral_v<T>) {
    double d = cJSON_IsNumber(j) ? j->valuedouble : NAN;
    if (!cJSON_IsNumber(j))
      add_error(errs, loc, "int_type", "Input should be a valid integer");
    else if (d != std::floor(d))
      add_error(errs, loc, "int_from_float",
                "Input should be a valid integer, got a number with a fractional part");
    else if (d < static_cast<double>(std::numeric_limits<T>::min()) ||
             d > static_cast<double>(std::numeric_limits<T>::max()))
      add_error(errs, loc, "int_overflow", "Input is out of range for this integer");
    else out = static_cast<T>(d);
  } else if constexpr (std::is_floating_point_v<T>) {
    if (cJSON_IsNumber(j)) out = static_cast<T>(j->valuedouble);
    else add_error(errs, loc, "float_type", "Input should be a valid number");
  } else if constexpr (std::is_same_v<T, none>) {
    if (!cJSON_IsNull(j)) add_error(errs, loc, "none_required", "Input should be None");
  } else if constexpr (std::is_same_v<T, json>) {
    out = json(j);
  } else if constexpr (is_optional<T>::value) {
    if (cJSON_IsNull(j)) {
      out.reset();
    } else {
      typename T::value_type v{};
      size_t before = errs.size();
      from_cjson(j, v, loc, errs);
      if (errs.size() == before) out = std::move(v);
    }
  } else if constexpr (is_vector<T>::value) {
    if (!cJSON_IsArray(j)) {
      add_error(errs, loc, "list_type", "Input should be a valid list");
      return;
    }
    out.clear();
    long i = 0;
    for (const cJSON *e = j->child; e; e = e->next, i++) {
      typename T::value_type v{};
      loc.emplace_back(i);
      from_cjson(e, v, loc, errs);
      loc.pop_back();
      out.push_back(std::move(v));
    }
  } else {
    static_assert(has_fields<T>::value,
                  "wschannels: describe this type with WSC_FIELDS(Type, field, ...)");
    detail::decode_object(j, out, loc, errs);
  }
}

// Decodes `j` into `out`; the errors' `loc` start with `loc_prefix`.
template <class T>
std::vector<field_error> from_json(const cJSON *j, T &out, detail::loc_t loc_prefix = {}) {
  std::vector<field_error> errs;
  from_cjson(j, out, loc_prefix, errs);
  return errs;
}

// Chanx's validation error frame for `errs`.
inline std::string error_frame(const std::vector<field_error> &errs) {
  cJSON *o = cJSON_CreateObject(), *a = cJSON_CreateArray();
  for (const auto &e : errs) {
    cJSON *x = cJSON_CreateObject(), *loc = cJSON_CreateArray();
    for (const auto &p : e.loc) {
      if (auto s = std::get_if<std::string>(&p)) cJSON_AddItemToArray(loc, cJSON_CreateString(s->c_str()));
      else cJSON_AddItemToArray(loc, cJSON_CreateNumber(static_cast<double>(std::get<long>(p))));
    }
    cJSON_AddStringToObject(x, "type", e.type.c_str());
    cJSON_AddItemToObject(x, "loc", loc);
    cJSON_AddStringToObject(x, "msg", e.msg.c_str());
    cJSON_AddItemToArray(a, x);
  }
  cJSON_AddStringToObject(o, "action", "error");
  cJSON_AddItemToObject(o, "payload", a);
  char *s = cJSON_PrintUnformatted(o);
  std::string out = s;
  cJSON_free(s);
  cJSON_Delete(o);
  return out;
}

// ---- schema (a JSON Schema subset, for validation and API docs) --------------

template <class T>
cJSON *schema_cjson() {
  cJSON *s = cJSON_CreateObject();
  if constexpr (std::is_same_v<T, std::string>) cJSON_AddStringToObject(s, "type", "string");
  else if constexpr (std::is_same_v<T, bool>) cJSON_AddStringToObject(s, "type", "boolean");
  else if constexpr (std::is_integral_v<T>) cJSON_AddStringToObject(s, "type", "integer");
  else if constexpr (std::is_floating_point_v<T>) cJSON_AddStringToObject(s, "type", "number");
  else if constexpr (std::is_same_v<T, none>) cJSON_AddStringToObject(s, "type", "null");
  else if constexpr (std::is_same_v<T, json>) { /* any */ }
  else if constexpr (is_optional<T>::value) {
    cJSON *any = cJSON_AddArrayToObject(s, "anyOf");
    cJSON_AddItemToArray(any, schema_cjson<typename T::value_type>());
    cJSON *n = cJSON_CreateObject();
    cJSON_AddStringToObject(n, "type", "null");
    cJSON_AddItemToArray(any, n);
  } else if constexpr (is_vector<T>::value) {
    cJSON_AddStringToObject(s, "type", "array");
    cJSON_AddItemToObject(s, "items", schema_cjson<typename T::value_type>());
  } else {
    static_assert(has_fields<T>::value,
                  "wschannels: describe this type with WSC_FIELDS(Type, field, ...)");
    cJSON_AddStringToObject(s, "title", detail::short_name(fields<T>::name));
    cJSON_AddStringToObject(s, "type", "object");
    cJSON *props = cJSON_AddObjectToObject(s, "properties");
    cJSON *req = cJSON_AddArrayToObject(s, "required");
    if constexpr (is_message<T>::value) {
      cJSON *a = cJSON_CreateObject();
      cJSON_AddStringToObject(a, "const", T::action);
      cJSON_AddItemToObject(props, "action", a);
      cJSON_AddItemToArray(req, cJSON_CreateString("action"));
    }
    std::apply(
        [&](auto... f) {
          auto one = [&](auto fd) {
            using M = std::remove_reference_t<decltype(std::declval<T &>().*(fd.member))>;
            cJSON *ps = schema_cjson<M>();
            cJSON_AddItemToObject(props, fd.name, ps);
            if (field_defaults<T>::has(fd.name)) {
              T init{};
              cJSON_AddItemToObject(ps, "default", to_cjson(init.*(fd.member)));
            } else if constexpr (std::is_same_v<M, none> || is_optional<M>::value) {
              cJSON_AddItemToObject(ps, "default", cJSON_CreateNull());
            } else {
              cJSON_AddItemToArray(req, cJSON_CreateString(fd.name));
            }
          };
          (one(f), ...);
        },
        fields<T>::list());
  }
  return s;
}

template <class T>
std::string schema() {
  cJSON *s = schema_cjson<T>();
  char *p = cJSON_PrintUnformatted(s);
  std::string out = p;
  cJSON_free(p);
  cJSON_Delete(s);
  return out;
}

}  // namespace wsc

// ---- WSC_FIELDS(Type, a, b, ...): up to 16 fields --------------------------
#define WSC__F(T, m) ::wsc::detail::make_field(#m, &T::m)
#define WSC__N(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, N, ...) N
#define WSC__F1(T, a) WSC__F(T, a)
#define WSC__F2(T, a, ...) WSC__F(T, a), WSC__F1(T, __VA_ARGS__)
#define WSC__F3(T, a, ...) WSC__F(T, a), WSC__F2(T, __VA_ARGS__)
#define WSC__F4(T, a, ...) WSC__F(T, a), WSC__F3(T, __VA_ARGS__)
#define WSC__F5(T, a, ...) WSC__F(T, a), WSC__F4(T, __VA_ARGS__)
#define WSC__F6(T, a, ...) WSC__F(T, a), WSC__F5(T, __VA_ARGS__)
#define WSC__F7(T, a, ...) WSC__F(T, a), WSC__F6(T, __VA_ARGS__)
#define WSC__F8(T, a, ...) WSC__F(T, a), WSC__F7(T, __VA_ARGS__)
#define WSC__F9(T, a, ...) WSC__F(T, a), WSC__F8(T, __VA_ARGS__)
#define WSC__F10(T, a, ...) WSC__F(T, a), WSC__F9(T, __VA_ARGS__)
#define WSC__F11(T, a, ...) WSC__F(T, a), WSC__F10(T, __VA_ARGS__)
#define WSC__F12(T, a, ...) WSC__F(T, a), WSC__F11(T, __VA_ARGS__)
#define WSC__F13(T, a, ...) WSC__F(T, a), WSC__F12(T, __VA_ARGS__)
#define WSC__F14(T, a, ...) WSC__F(T, a), WSC__F13(T, __VA_ARGS__)
#define WSC__F15(T, a, ...) WSC__F(T, a), WSC__F14(T, __VA_ARGS__)
#define WSC__F16(T, a, ...) WSC__F(T, a), WSC__F15(T, __VA_ARGS__)
#define WSC__CAT(a, b) WSC__CAT2(a, b)
#define WSC__CAT2(a, b) a##b
#define WSC__FIELDLIST(T, ...)                                                          \
  WSC__CAT(WSC__F, WSC__N(__VA_ARGS__, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, \
                          2, 1))(T, __VA_ARGS__)

// Names the fields of T that have defaults (at namespace scope):
//   struct NotificationPayload { std::string type = "user"; std::string message; };
//   WSC_DEFAULTS(NotificationPayload, "type")
#define WSC_DEFAULTS(T, ...)                                      \
  template <>                                                     \
  struct wsc::field_defaults<T> {                                 \
    static bool has(const char *n) {                              \
      for (const char *d : {__VA_ARGS__})                         \
        if (std::string(d) == n) return true;                     \
      return false;                                               \
    }                                                             \
  };

// Describes a struct's fields (at namespace scope, outside any namespace).
#define WSC_FIELDS(T, ...)                                              \
  template <>                                                           \
  struct wsc::fields<T> {                                               \
    static constexpr const char *name = #T;                             \
    static constexpr auto list() { return std::make_tuple(WSC__FIELDLIST(T, __VA_ARGS__)); } \
  };

#endif
