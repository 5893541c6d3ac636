// String formats as regular expressions. Each one generates only valid instances of its format
// (RFC 3339 for date-time, date, time and duration; RFC 1123 host names; RFC 4291 IPv6 without
// embedded IPv4; RFC 4122 UUIDs; RFC 3986 URIs and references, ASCII only, also for iri), though not
// every valid instance: February 29, leap seconds, lower-case 't'/'z', host names of more than
// three labels, quoted e-mail local parts, URIs without an authority ("mailto:x"), user info or a
// port, and relative references not starting with "/" are never generated.
#include "grammar/grammar_impl.h"

namespace gemma4 {

namespace {

std::string date() {
  return "[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|"
         "02-(?:0[1-9]|1[0-9]|2[0-8]))";
}

std::string time() {
  return "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,9})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])";
}

// RFC 3339 appendix A: "P" (dur-date / dur-time / dur-week), each unit at most 9 digits.
std::string duration() {
  const std::string n = "[0-9]{1,9}";
  const std::string day = n + "D", month = n + "M(?:" + day + ")?", year = n + "Y(?:" + month + ")?";
  const std::string second = n + "S", minute = n + "M(?:" + second + ")?", hour = n + "H(?:" + minute + ")?";
  const std::string time_part = "T(?:" + hour + "|" + minute + "|" + second + ")";
  return "P(?:(?:" + day + "|" + month + "|" + year + ")(?:" + time_part + ")?|" + time_part + "|" + n + "W)";
}

// At most three labels of at most 63 characters: never above the 253-character limit.
std::string hostname() {
  const std::string label = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
  return label + "(?:\\." + label + "){0,2}";
}

std::string email() {
  const std::string atom = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,20}";
  return atom + "(?:\\." + atom + "){0,2}@" + hostname();
}

std::string ipv4() {
  const std::string octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
  return octet + "\\." + octet + "\\." + octet + "\\." + octet;
}

// Eight groups, or k groups, "::" and at most 7 - k more.
std::string ipv6() {
  const std::string h = "[0-9a-fA-F]{1,4}";
  std::string out = h + "(?::" + h + "){7}";
  for (int k = 0; k <= 7; ++k) {
    std::string left = k == 0 ? "" : h + (k > 1 ? "(?::" + h + "){" + std::to_string(k - 1) + "}" : "");
    std::string right = k == 7 ? "" : "(?:" + h + (k < 6 ? "(?::" + h + "){0," + std::to_string(6 - k) + "}" : "") + ")?";
    out += "|" + left + "::" + right;
  }
  return out;
}

// RFC 3986 characters: a path character (pchar) and the characters of a registered host name.
const char* kUriPchar = "(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})";
const char* kUriRegName = "(?:[A-Za-z0-9._~!$&'()*+,;=-]|%[0-9A-Fa-f]{2})*";

// path-abempty [ "?" query ] [ "#" fragment ].
std::string uri_path_query_fragment() {
  const std::string p = kUriPchar;
  return "(?:/" + p + "*)*(?:\\?(?:" + p + "|[/?])*)?(?:#(?:" + p + "|[/?])*)?";
}

// scheme "://" reg-name path-abempty [query] [fragment]: a URI with an authority (no user info or
// port, and never the authority-less forms such as "mailto:").
std::string uri() { return std::string("[A-Za-z][A-Za-z0-9+.-]*://") + kUriRegName + uri_path_query_fragment(); }

// A URI, or a relative reference that starts with "/" (an absolute path, or "//" and a host).
std::string uri_reference() { return uri() + "|/" + std::string(kUriPchar) + "*" + uri_path_query_fragment(); }

}  // namespace

std::string format_regex(std::string_view format) {
  if (format == "uri" || format == "iri") return uri();
  if (format == "uri-reference" || format == "iri-reference") return uri_reference();
  if (format == "date-time") return date() + "T" + time();
  if (format == "date") return date();
  if (format == "time") return time();
  if (format == "duration") return duration();
  if (format == "email") return email();
  if (format == "hostname") return hostname();
  if (format == "ipv4") return ipv4();
  if (format == "ipv6") return ipv6();
  if (format == "uuid") return "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
  return "";
}

}  // namespace gemma4
