// json_writer.hpp — a streaming JSON writer for configs and traces.
//
// nlohmann::json would first build a DOM of every number in a trace (millions of nodes for a
// long text) and would print a float as the double it widens to (0.10000000149011612); this
// writer appends straight to a string and prints each float in its own shortest round-trip
// form (0.1), so parse -> float gives back the same bits. Pretty mode puts each object member
// and each nested array on its own line but keeps arrays of numbers on one line, so a matrix
// reads row by row.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace attnviz::json {

class Writer {
public:
    explicit Writer(bool pretty = false) : pretty_(pretty) {}

    void begin_object() { open('{', true); }
    void end_object()   { close('}'); }
    void begin_array()  { open('[', false); }
    void end_array()    { close(']'); }

    void key(std::string_view name) {  // the next value is this member's
        element(true);
        string_literal(name);
        out_ += pretty_ ? ": " : ":";
        after_key_ = true;
    }

    void null()                   { element(false); out_ += "null"; }
    void boolean(bool v)          { element(false); out_ += v ? "true" : "false"; }
    void string(std::string_view v) { element(false); string_literal(v); }
    void integer(std::int64_t v)  { element(false); out_ += std::to_string(v); }
    // Finite floats and doubles in shortest round-trip form (nlohmann's Grisu2, which is
    // integer arithmetic and so prints the same digits natively and in wasm).
    template <class F>
    void number(F v) {
        element(false);
        char buf[64];
        char* end = nlohmann::detail::to_chars(buf, buf + sizeof buf, v);
        out_.append(buf, end);
    }

    std::string take() { return std::move(out_); }

private:
    struct Frame {
        bool object;     // object (members on their own lines) or array
        bool empty = true;
        bool multiline = false;  // an element went on its own line, so the closer does too
    };

    void newline() {
        out_ += '\n';
        out_.append(2 * stack_.size(), ' ');
    }

    // Separator (and in pretty mode, line break) before a member key or a value.
    void element(bool is_key, bool is_container = false) {
        if (after_key_) {  // the value of a member follows its key on the same line
            after_key_ = false;
            return;
        }
        if (stack_.empty()) return;
        Frame& f = stack_.back();
        if (!f.empty) out_ += ',';
        f.empty = false;
        if (pretty_ && (is_key || is_container)) {
            f.multiline = true;
            newline();
        } else if (pretty_ && !is_key && out_.back() == ',') {
            out_ += ' ';
        }
    }

    void open(char c, bool object) {
        element(false, true);
        out_ += c;
        stack_.push_back(Frame{object});
    }

    void close(char c) {
        const bool multiline = stack_.back().multiline;
        stack_.pop_back();
        if (pretty_ && multiline) newline();
        out_ += c;
    }

    void string_literal(std::string_view s) {  // s is valid UTF-8; escape what JSON requires
        out_ += '"';
        for (unsigned char c : s) {
            switch (c) {
                case '"':  out_ += "\\\""; break;
                case '\\': out_ += "\\\\"; break;
                case '\n': out_ += "\\n"; break;
                case '\r': out_ += "\\r"; break;
                case '\t': out_ += "\\t"; break;
                case '\b': out_ += "\\b"; break;
                case '\f': out_ += "\\f"; break;
                default:
                    if (c < 0x20) {
                        static const char hex[] = "0123456789abcdef";
                        out_ += "\\u00";
                        out_ += hex[c >> 4];
                        out_ += hex[c & 15];
                    } else {
                        out_ += static_cast<char>(c);
                    }
            }
        }
        out_ += '"';
    }

    bool pretty_;
    bool after_key_ = false;
    std::vector<Frame> stack_;
    std::string out_;
};

}  // namespace attnviz::json
