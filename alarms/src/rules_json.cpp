#include "rules_json.hpp"

#include <cstdlib>

namespace agner::alarms::detail {

namespace {

std::string escape_key(std::string_view key) {
  std::string out;
  for (char ch : key) {
    if (ch == '~') out += "~0";
    else if (ch == '/') out += "~1";
    else out.push_back(ch);
  }
  return out;
}

/// A SAX pass that notes the paths of duplicate keys (nlohmann keeps the last; a rules file must
/// not say one thing twice). Linear: nlohmann's parser callback scans the parent array at every
/// object end, quadratic on a long array of objects.
class duplicate_keys final : public nlohmann::json_sax<json> {
 public:
  std::vector<std::string> found;

  bool null() override { return element(); }
  bool boolean(bool) override { return element(); }
  bool number_integer(number_integer_t) override { return element(); }
  bool number_unsigned(number_unsigned_t) override { return element(); }
  bool number_float(number_float_t, const string_t&) override { return element(); }
  bool string(string_t&) override { return element(); }
  bool binary(binary_t&) override { return element(); }
  bool start_object(std::size_t) override {
    stack_.push_back({false, 0, {}, {}});
    return true;
  }
  bool key(string_t& k) override {
    auto& f = stack_.back();
    f.key = k;
    if (!f.keys.insert(k).second && found.size() <= max_rule_errors) found.push_back(here());
    return true;
  }
  bool end_object() override { return end(); }
  bool start_array(std::size_t) override {
    stack_.push_back({true, 0, {}, {}});
    return true;
  }
  bool end_array() override { return end(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  struct frame {
    bool array = false;
    std::size_t index = 0;
    std::string key;
    std::set<std::string> keys;
  };
  std::vector<frame> stack_;
  bool element() {
    if (!stack_.empty() && stack_.back().array) ++stack_.back().index;
    return true;
  }
  bool end() {
    if (!stack_.empty()) stack_.pop_back();
    return element();
  }
  std::string here() const {
    std::string p;
    for (auto& f : stack_) {
      p += '/';
      p += f.array ? std::to_string(f.index) : escape_key(f.key);
    }
    return p;
  }
};

}  // namespace

/// The first pass, before nlohmann parses: where the text nests deeper than max_rules_depth or
/// holds a number outside double's range, with what is wrong. Iterative, O(size).
std::optional<std::pair<std::size_t, std::string>> prescan(std::string_view t) {
  int depth = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if (c == '"') {
      for (++i; i < t.size() && t[i] != '"'; ++i)
        if (t[i] == '\\') ++i;
    } else if (c == '{' || c == '[') {
      if (++depth > max_rules_depth)
        return std::make_pair(i, fmt::format("nested deeper than {} levels of objects and arrays", max_rules_depth));
    } else if (c == '}' || c == ']') {
      --depth;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      std::size_t end = i;
      while (end < t.size() && std::string_view("0123456789+-.eE").find(t[end]) != std::string_view::npos) ++end;
      const std::string token(t.substr(i, std::min<std::size_t>(end - i, 400)));
      if (!std::isfinite(std::strtod(token.c_str(), nullptr)))
        return std::make_pair(i, fmt::format("the number {}{} is out of range", token.substr(0, 40), token.size() > 40 ? "..." : ""));
      i = end - 1;
    }
  }
  return std::nullopt;
}

/// Parses `text` (already prescanned), noting the paths of duplicate keys. Throws what
/// json::parse throws.
json parse_noting_duplicates(std::string_view text, std::vector<std::string>& duplicates) {
  duplicate_keys sax;
  if (json::sax_parse(text, &sax)) duplicates = std::move(sax.found);
  return json::parse(text);
}

positions::positions(std::string_view text, const std::set<std::string>& wanted) : t_(text) {
  for (auto& w : wanted)
    for (std::string p = w;; p = p.substr(0, p.rfind('/'))) {
      wanted_.insert(p);
      if (p.empty()) break;
    }
  try {
    value("");
  } catch (...) {  // malformed: nlohmann reports it; keep what was mapped
  }
}

std::size_t positions::of(const std::string& path, bool key) const {
  if (key)
    if (auto it = keys_.find(path); it != keys_.end()) return it->second;
  for (std::string p = path;; p = p.substr(0, p.rfind('/'))) {
    if (auto it = at_.find(p); it != at_.end()) return it->second;
    if (p.empty()) return 0;
  }
}

void positions::ws() {
  while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\n' || t_[i_] == '\r' || t_[i_] == '\t')) ++i_;
}

std::string positions::string() {
  // Decoded as nlohmann decodes it, so a key written with escapes ("bo\u0041gus") maps to the path
  // the checker names. Malformed escapes end the mapping (nlohmann reports them).
  std::string s;
  ++i_;  // opening quote
  auto hex4 = [this](std::size_t at) -> long {
    if (at + 4 > t_.size()) return -1;
    long v = 0;
    for (std::size_t k = at; k < at + 4; ++k) {
      const char c = t_[k];
      const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) return -1;
      v = v * 16 + d;
    }
    return v;
  };
  while (i_ < t_.size() && t_[i_] != '"') {
    if (t_[i_] != '\\') {
      s.push_back(t_[i_++]);
      continue;
    }
    if (++i_ >= t_.size()) throw 0;
    const char e = t_[i_++];
    if (e != 'u') {
      const auto at = std::string_view("\"\\/bfnrt").find(e);
      if (at == std::string_view::npos) throw 0;
      s.push_back("\"\\/\b\f\n\r\t"[at]);
      continue;
    }
    long cp = hex4(i_);
    if (cp < 0) throw 0;
    i_ += 4;
    if (cp >= 0xd800 && cp <= 0xdbff && i_ + 1 < t_.size() && t_[i_] == '\\' && t_[i_ + 1] == 'u') {
      const long lo = hex4(i_ + 2);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        i_ += 6;
      }
    }
    append_utf8(static_cast<char32_t>(cp), s);
  }
  ++i_;
  return s;
}

std::string positions::escape(std::string key) {
  std::string out;
  for (char c : key) out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
  return out;
}

void positions::value(const std::string& path, int depth) {
  ws();
  if (depth > max_rules_depth) throw 0;  // the first pass refuses such files: never recurse unboundedly
  if (wanted_.count(path)) at_[path] = i_;
  if (i_ >= t_.size()) throw 0;
  const char c = t_[i_];
  if (c == '{') {
    ++i_;
    ws();
    if (t_.at(i_) == '}') return void(++i_);
    for (;;) {
      ws();
      const std::size_t key_at = i_;
      const std::string key = escape(string());
      if (wanted_.count(path + "/" + key)) keys_[path + "/" + key] = key_at;
      ws();
      if (t_.at(i_++) != ':') throw 0;
      value(path + "/" + key, depth + 1);
      ws();
      if (t_.at(i_) == ',') {
        ++i_;
        continue;
      }
      if (t_.at(i_++) != '}') throw 0;
      return;
    }
  }
  if (c == '[') {
    ++i_;
    ws();
    if (t_.at(i_) == ']') return void(++i_);
    for (int n = 0;; ++n) {
      value(fmt::format("{}/{}", path, n), depth + 1);
      ws();
      if (t_.at(i_) == ',') {
        ++i_;
        continue;
      }
      if (t_.at(i_++) != ']') throw 0;
      return;
    }
  }
  if (c == '"') return void(string());
  while (i_ < t_.size() && std::string_view(",}] \n\r\t").find(t_[i_]) == std::string_view::npos) ++i_;
}

std::pair<int, int> line_column(std::string_view text, std::size_t offset) {
  int line = 1, column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

}  // namespace agner::alarms::detail
