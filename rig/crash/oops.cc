// Kernel oops parsing, decoding and rendering (see oops.h).
#include "rig/crash/oops.h"

#include <cstdlib>

#include "rig/dwarf/symbols.h"

namespace racerig::crash {

namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// The kind of report a line starts, or "" if none.
std::string report_kind(std::string_view l) {
  if (l.find("KASAN:") != std::string_view::npos && (starts_with(l, "BUG:") || starts_with(l, "KASAN:")))
    return "KASAN";
  if (starts_with(l, "BUG:") || starts_with(l, "kernel BUG at")) return "BUG";
  if (starts_with(l, "general protection fault")) return "general protection fault";
  if (starts_with(l, "WARNING:") && l.find(" at ") != std::string_view::npos) return "WARNING";
  if (starts_with(l, "Oops:")) return "Oops";
  return "";
}

bool parse_hex(std::string_view s, uint64_t* out) {
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
  if (s.empty() || s.size() > 16) return false;
  uint64_t v = 0;
  for (char c : s) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return false;
    v = v * 16 + static_cast<uint64_t>(d);
  }
  *out = v;
  return true;
}

// "CPU: 0 PID: 58 Comm: faulter Not tainted 6.1.0 #1"
void parse_task_line(std::string_view l, pb::Oops* o) {
  auto field = [&](std::string_view key) -> std::string_view {
    size_t at = l.find(key);
    if (at == std::string_view::npos) return {};
    std::string_view rest = l.substr(at + key.size());
    return rest.substr(0, rest.find(' '));
  };
  o->set_cpu(std::atoi(std::string(field("CPU: ")).c_str()));
  o->set_pid(std::atoi(std::string(field("PID: ")).c_str()));
  o->set_comm(std::string(field("Comm: ")));
}

void decode_frame(pb::Frame* f, const dwarf::Symbols& syms, bool return_address) {
  if (f->function().empty()) return;
  auto base = syms.address_of(f->function());
  if (!base.ok()) return;
  uint64_t addr = base->value() + f->offset();
  f->set_address(addr);
  uint64_t lookup = return_address && addr > 0 ? addr - 1 : addr;
  auto s = syms.symbolize(GuestAddr(lookup));
  if (!s) return;
  f->set_file(s->file);
  f->set_line(s->line);
  f->clear_inlined_from();
  for (const auto& i : s->inlined) f->add_inlined_from(i);
}

std::string frame_line(const pb::Frame& f) {
  std::string out = (f.uncertain() ? "? " : "") + f.text();
  if (!f.file().empty()) out += " (" + f.file() + ":" + std::to_string(f.line()) + ")";
  for (const auto& i : f.inlined_from()) out += "\n        " + i;
  return out;
}

}  // namespace

namespace {

// A line that follows a call trace in a report: a register dump line
// ("RIP: 0033:...", "RSP: ...", "R10: ...", "FS:  ...", "CR2: ..."), the code
// bytes or the module list.
bool ends_trace(std::string_view l) {
  if (starts_with(l, "Code: ") || starts_with(l, "Modules linked in")) return true;
  const size_t colon = l.find(':');
  if (colon < 2 || colon > 3 || colon == std::string_view::npos) return false;
  for (size_t i = 0; i < colon; ++i)
    if (!((l[i] >= 'A' && l[i] <= 'Z') || (l[i] >= '0' && l[i] <= '9'))) return false;
  return true;
}

}  // namespace

std::string_view strip_console_prefix(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  // Serial noise before the timestamp is dropped with it.
  size_t open = line.find('[');
  if (open != std::string_view::npos && open < 8) {
    size_t close = line.find(']', open);
    if (close != std::string_view::npos && close - open < 20) {
      std::string_view stamp = trim(line.substr(open + 1, close - open - 1));
      bool numeric = !stamp.empty();
      for (char c : stamp) numeric = numeric && ((c >= '0' && c <= '9') || c == '.');
      if (numeric) {
        line.remove_prefix(close + 1);
        if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
      }
    }
  }
  return line;
}

bool parse_frame(std::string_view text, pb::Frame* frame) {
  std::string_view t = trim(text);
  bool uncertain = false;
  if (starts_with(t, "? ")) {
    uncertain = true;
    t.remove_prefix(2);
  }
  t = t.substr(0, t.find(' '));  // drops " [module]"
  size_t plus = t.find('+'), slash = t.find('/');
  if (plus == std::string_view::npos || plus == 0 || slash == std::string_view::npos || slash < plus) return false;
  uint64_t off = 0, size = 0;
  if (!parse_hex(t.substr(plus + 1, slash - plus - 1), &off) || !parse_hex(t.substr(slash + 1), &size)) return false;
  std::string_view fn = t.substr(0, plus);
  for (char c : fn)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '$')) return false;
  frame->set_text(std::string(t));
  frame->set_function(std::string(fn));
  frame->set_offset(off);
  frame->set_uncertain(uncertain);
  return true;
}

void ConsoleParser::feed_line(std::string_view raw) {
  if (done_.size() >= kMaxReports) return;
  std::string_view l = trim(strip_console_prefix(raw));
  if (!active_) {
    std::string kind = report_kind(l);
    if (kind.empty()) {
      // x86's WARN(cond, fmt, ...) prints "cut here" and its message, then
      // traps; the trap prints the "WARNING:" line. Keep what follows the
      // marker (bounded) for the report that may come.
      if (starts_with(l, kCutHere)) {
        after_cut_ = true;
        message_.clear();
        message_lines_ = 0;
      } else if (after_cut_) {
        if (message_lines_ >= kMaxMessageLines || message_.size() + l.size() > kMaxMessageBytes) {
          after_cut_ = false;  // not a report's message after all
          message_.clear();
          message_lines_ = 0;
        } else if (!l.empty()) {
          message_ += (message_.empty() ? "" : "\n") + std::string(l);
          ++message_lines_;
        }
      }
      return;
    }
    active_ = true;
    in_trace_ = false;
    report_.Clear();
    report_.set_kind(kind);
    report_.set_headline(std::string(l));
    if (after_cut_ && !message_.empty()) {
      report_.set_message(message_);
      report_.set_text(message_ + "\n");
    }
    report_.mutable_text()->append(std::string(l) + "\n");
    after_cut_ = false;
    message_.clear();
    message_lines_ = 0;
    return;
  }
  if (l.size() > 4096) l = l.substr(0, 4096);
  report_.mutable_text()->append(std::string(l) + "\n");
  if (report_.text().size() > (256u << 10) || starts_with(l, "---[ end trace") || starts_with(l, "Kernel panic")) {
    active_ = false;
    for (auto& d : done_) {
      if (d.headline() == report_.headline() && d.message() == report_.message()) {  // the same WARN again: count it
        d.set_repeats(d.repeats() + 1);
        return;
      }
    }
    done_.push_back(report_);
    return;
  }
  // A "BUG:" headline is followed by "Oops:"; the kind stays the first one.
  if (starts_with(l, "CPU: ") && l.find("PID: ") != std::string_view::npos) {
    parse_task_line(l, &report_);
  } else if (starts_with(l, "RIP: ") && !report_.has_rip()) {
    std::string_view r = l.substr(5);
    size_t colon = r.find(':');
    if (colon != std::string_view::npos && colon <= 4) r = r.substr(colon + 1);  // "0010:"
    pb::Frame rip;
    if (!parse_frame(r, &rip)) {
      // No symbol: a jump through a bad pointer ("RIP: 0010:0x0"). Keep
      // what was printed, and the address when it is one.
      std::string_view raw = trim(r);
      raw = raw.substr(0, raw.find(' '));
      rip.set_text(std::string(raw));
      uint64_t addr = 0;
      if (starts_with(raw, "0x") && parse_hex(raw, &addr)) rip.set_address(addr);
    }
    if (!rip.text().empty()) *report_.mutable_rip() = rip;
  } else if (starts_with(l, "Call Trace:")) {
    in_trace_ = true;
  } else if (in_trace_) {
    if (l == "<TASK>" || l == "</TASK>" || l == "<IRQ>" || l == "</IRQ>" || l == "<NMI>" || l == "</NMI>") {
      if (l == "</TASK>") in_trace_ = false;
      return;
    }
    pb::Frame f;
    if (parse_frame(l, &f)) {
      *report_.add_trace() = f;
    } else if (ends_trace(l)) {
      in_trace_ = false;  // the trace ended (register dump, "Modules linked in", ...)
    }
    // Anything else is another CPU's printk between the trace's lines (seen:
    // "input: ImExPS/2 Generic Explorer Mouse ..." right after "Call
    // Trace:"): skipped, the trace goes on.
  }
}

std::optional<pb::Oops> ConsoleParser::first_report() const {
  if (!done_.empty()) return done_.front();
  if (!active_) return std::nullopt;
  return report_;
}

std::vector<pb::Oops> ConsoleParser::reports() const {
  std::vector<pb::Oops> out = done_;
  if (active_) out.push_back(report_);
  return out;
}

void decode(pb::Oops& oops, const dwarf::Symbols& syms) {
  if (oops.has_rip()) decode_frame(oops.mutable_rip(), syms, false);
  for (auto& f : *oops.mutable_trace()) decode_frame(&f, syms, true);
}

std::string render(const pb::Oops& oops) {
  if (oops.headline().empty()) return "";
  std::string out = oops.message().empty() ? "" : "  " + oops.message() + "\n";
  out += "  " + oops.headline() + "\n";
  if (!oops.comm().empty())
    out += "  CPU " + std::to_string(oops.cpu()) + ", PID " + std::to_string(oops.pid()) + " (" + oops.comm() + ")\n";
  if (oops.has_rip()) out += "  RIP: " + frame_line(oops.rip()) + "\n";
  if (oops.trace_size() > 0) {
    out += "  Call trace:\n";
    for (const auto& f : oops.trace()) out += "    " + frame_line(f) + "\n";
  }
  return out;
}

}  // namespace racerig::crash
