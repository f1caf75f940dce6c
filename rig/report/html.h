// The pieces every racerig page shares: escaping for element content and
// quoted attributes, the page's frame (one <style>, one <script>, nothing
// fetched) and the bounded, folded text of a console.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace racerig::report {

// `text` with & < > " ' as character references, safe in element content
// and in quoted attribute values; control bytes other than tab, newline and
// carriage return (a console's NULs, escapes) become U+FFFD. Bytes of
// invalid UTF-8 pass through (the browser shows them as U+FFFD).
std::string html_escape(std::string_view text);

// The top of a page up to and including <body>: a UTF-8 <meta>, the
// escaped `title`, the shared style and `extra_style` (CSS, written as
// given: never data). `refresh_s` > 0 adds a meta refresh (a live job page).
std::string page_begin(std::string_view title, std::string_view extra_style = {}, int refresh_s = 0);
// The end of a page: `script` (JavaScript, written as given: never data) in
// one inline <script>, then </body></html>.
std::string page_end(std::string_view script = {});

// The most console bytes one page shows in all (the rest of each console is
// named as cut), and at most per console.
inline constexpr size_t kMaxPageConsoleBytes = size_t{2} << 20;
inline constexpr size_t kMaxConsoleBytes = size_t{256} << 10;

// Counts what a page has shown of its consoles against kMaxPageConsoleBytes.
class ConsoleBudget {
 public:
  // What one console may still show: min(kMaxConsoleBytes, what is left).
  size_t take(size_t wanted);

 private:
  size_t used_ = 0;
};

// A console folded in a <details> whose summary is `label` and its size:
// at most budget.take() bytes of it, the first quarter and the last three
// quarters of what fits, the cut named with its byte count and `where_full`
// (where the whole console is, escaped; empty: not said).
std::string folded_console(std::string_view label, std::string_view console, ConsoleBudget& budget,
                           std::string_view where_full = {});

// "1.2 s", "340 ms".
std::string ms_text(double ms);

}  // namespace racerig::report
