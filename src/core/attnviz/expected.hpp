// attnviz/expected.hpp — a value or an error message.
//
// The core reports every failure (bad JSON, a field out of range, running out of memory) as a
// value: an `Expected<T>` that holds either a T or a one-line message "<field>: <what was
// expected>". Nothing in the core aborts or lets an exception escape, which matters in the
// wasm build where an uncaught exception ends the whole page.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace attnviz {

// The error half of an Expected, kept as its own type so Expected<std::string> is unambiguous.
struct Unexpected {
    std::string message;  // "<field>: <what was expected>"
};

inline Unexpected fail(std::string message) { return Unexpected{std::move(message)}; }

template <class T>
class Expected {
public:
    Expected(T value) : state_(std::in_place_index<0>, std::move(value)) {}           // success
    Expected(Unexpected error) : state_(std::in_place_index<1>, std::move(error)) {}  // failure

    bool ok() const { return state_.index() == 0; }   // true when a value is held
    explicit operator bool() const { return ok(); }

    // Precondition: ok(). (std::get throws std::bad_variant_access otherwise, never UB.)
    T&       value() &       { return std::get<0>(state_); }
    const T& value() const & { return std::get<0>(state_); }
    T&&      value() &&      { return std::get<0>(std::move(state_)); }

    // Precondition: !ok().
    const std::string& error() const { return std::get<1>(state_).message; }

private:
    std::variant<T, Unexpected> state_;
};

}  // namespace attnviz
