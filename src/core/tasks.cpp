// tasks.cpp — the synthetic tasks' generators and their score (attnviz/tasks.hpp).
#include "attnviz/tasks.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "gpt.hpp"
#include "internal.hpp"
#include "random.hpp"

namespace attnviz {

namespace {

constexpr const char* kNames[] = {"copy", "reverse", "sort", "previous_token", "induction", "brackets", "modular_addition"};

// The separators after the symbols, in the vocabulary's order.
const std::vector<std::string>& separators(TaskKind kind) {
    static const std::vector<std::string> bar{"|"}, none{}, brackets{"(", ")", "=", "y", "n"}, addition{"+", "="};
    switch (kind) {
        case TaskKind::copy:
        case TaskKind::reverse:
        case TaskKind::sort: return bar;
        case TaskKind::brackets: return brackets;
        case TaskKind::modular_addition: return addition;
        default: return none;
    }
}

// Ids of the separators: the symbols come first.
int separator_id(const TaskSpec& spec, std::string_view text) {
    const int symbols = spec.kind == TaskKind::brackets ? 0 : spec.symbols;
    const auto& seps = separators(spec.kind);
    return symbols + static_cast<int>(std::find(seps.begin(), seps.end(), text) - seps.begin());
}

// Modular addition's pairs (a·p + b) in a seeded order: the first ⌈p²/5⌉ are held out for
// validation, the rest are trained on. Cached per thread for the last (seed, p).
const std::vector<int>& pair_order(std::uint64_t seed, int p) {
    thread_local std::uint64_t cached_seed = 0;
    thread_local std::vector<int> order;
    if (order.size() != static_cast<std::size_t>(p) * p || cached_seed != seed) {
        order.resize(static_cast<std::size_t>(p) * p);
        std::iota(order.begin(), order.end(), 0);
        random::SplitMix64 rng(random::bits(seed, random::hash_bytes("modular_addition/split"), static_cast<std::uint64_t>(p), 0));
        for (std::size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[rng.below(static_cast<std::uint32_t>(i + 1))]);
        cached_seed = seed;
    }
    return order;
}

// Is `s` (0 = "(", 1 = ")") a balanced bracket sequence?
bool balanced(const std::vector<int>& s) {
    int depth = 0;
    for (int c : s) {
        depth += c == 0 ? 1 : -1;
        if (depth < 0) return false;
    }
    return depth == 0;
}

// One example; `validation` picks modular addition's held-out pairs instead of the training ones.
Example generate(const TaskSpec& spec, std::uint64_t seed, std::uint64_t stream, std::uint64_t index, bool validation) {
    random::SplitMix64 rng(random::bits(seed, stream, index, 0));
    const int n = spec.length, k = spec.symbols, T = task_context(spec);
    Example e;
    e.inputs.assign(T, 0);
    e.targets.assign(T, -1);
    const auto symbol = [&] { return static_cast<int>(rng.below(static_cast<std::uint32_t>(k))); };
    switch (spec.kind) {
        case TaskKind::copy:
        case TaskKind::reverse:
        case TaskKind::sort: {
            // x = a | b (2n + 1 tokens): inputs x[0..2n), targets x[t + 1] from t = n (the bar) on
            std::vector<int> a(n);
            for (int& s : a) s = symbol();
            std::vector<int> b = a;
            if (spec.kind == TaskKind::reverse) std::reverse(b.begin(), b.end());
            if (spec.kind == TaskKind::sort) std::sort(b.begin(), b.end());
            std::vector<int> x = a;
            x.push_back(separator_id(spec, "|"));
            x.insert(x.end(), b.begin(), b.end());
            for (int t = 0; t < T; ++t) {
                e.inputs[t] = x[t];
                if (t >= n) e.targets[t] = x[t + 1];
            }
            break;
        }
        case TaskKind::previous_token:
            for (int t = 0; t < T; ++t) {
                e.inputs[t] = symbol();
                if (t > 0) e.targets[t] = e.inputs[t - 1];
            }
            break;
        case TaskKind::induction: {
            // a period p of distinct symbols (a partial Fisher-Yates shuffle), repeated
            const int p = 4 + static_cast<int>(rng.below(static_cast<std::uint32_t>(n / 2 - 4 + 1)));
            std::vector<int> order(k);
            std::iota(order.begin(), order.end(), 0);
            for (int i = 0; i < p; ++i) std::swap(order[i], order[i + static_cast<int>(rng.below(static_cast<std::uint32_t>(k - i)))]);
            for (int t = 0; t < T; ++t) {
                e.inputs[t] = order[t % p];
                if (t >= p) e.targets[t] = order[(t + 1) % p];  // the symbol at t was seen before: what followed it
            }
            break;
        }
        case TaskKind::brackets: {
            // half balanced (a random walk that stays >= 0 and closes at the end); a quarter the
            // same brackets shuffled until unbalanced; a quarter with one bracket flipped
            std::vector<int> s(n);
            int depth = 0;
            for (int i = 0; i < n; ++i) {
                const int left = n - i;
                const bool open = depth == 0 || (depth < left && rng.below(2) == 0);
                s[i] = open ? 0 : 1;
                depth += open ? 1 : -1;
            }
            const std::uint32_t kind = rng.below(4);
            if (kind == 2) {
                for (int tries = 0; tries < 64 && balanced(s); ++tries)
                    for (int i = n - 1; i > 0; --i) std::swap(s[i], s[rng.below(static_cast<std::uint32_t>(i + 1))]);
            } else if (kind == 3) {
                s[rng.below(static_cast<std::uint32_t>(n))] ^= 1;
            }
            for (int i = 0; i < n; ++i) e.inputs[i] = separator_id(spec, s[i] == 0 ? "(" : ")");
            e.inputs[n] = separator_id(spec, "=");
            e.targets[n] = separator_id(spec, balanced(s) ? "y" : "n");
            break;
        }
        case TaskKind::modular_addition: {
            const std::vector<int>& order = pair_order(seed, k);
            const std::uint32_t held = static_cast<std::uint32_t>((order.size() + 4) / 5);  // ⌈p²/5⌉, at least 1
            const int pair = validation ? order[rng.below(held)]
                                        : order[held + rng.below(static_cast<std::uint32_t>(order.size()) - held)];
            const int a = pair / k, b = pair % k;
            e.inputs = {a, separator_id(spec, "+"), b, separator_id(spec, "=")};
            e.targets = {-1, -1, -1, (a + b) % k};
            break;
        }
    }
    return e;
}

}  // namespace

const char* task_name(TaskKind kind) { return kNames[static_cast<int>(kind)]; }

std::optional<TaskKind> task_from_name(std::string_view name) {
    for (int k = 0; k < static_cast<int>(std::size(kNames)); ++k)
        if (name == kNames[k]) return static_cast<TaskKind>(k);
    return std::nullopt;
}

std::string check_task(const TaskSpec& s) {
    using detail::range_error;
    switch (s.kind) {
        case TaskKind::modular_addition: return range_error("symbols", s.symbols, 3, 113);  // p² >= 9: pairs on both sides of the split
        case TaskKind::brackets: {
            std::string e = range_error("length", s.length, 2, 256);
            if (e.empty() && s.length % 2 != 0) e = "length: expected an even number of brackets, got " + std::to_string(s.length);
            return e;
        }
        case TaskKind::induction: {
            std::string e = range_error("length", s.length, 8, 512);
            if (e.empty()) e = range_error("symbols", s.symbols, s.length / 2, 26);
            return e;
        }
        case TaskKind::previous_token: {
            std::string e = range_error("length", s.length, 2, 512);
            return e.empty() ? range_error("symbols", s.symbols, 2, 26) : e;
        }
        default: {
            std::string e = range_error("length", s.length, 1, 256);
            return e.empty() ? range_error("symbols", s.symbols, 2, 26) : e;
        }
    }
}

Vocabulary task_vocabulary(const TaskSpec& spec) {
    Vocabulary v;
    if (spec.kind == TaskKind::modular_addition)
        for (int i = 0; i < spec.symbols; ++i) v.tokens.push_back(std::to_string(i));
    else if (spec.kind != TaskKind::brackets)
        for (int i = 0; i < spec.symbols; ++i) v.tokens.push_back(std::string(1, static_cast<char>('a' + i)));
    for (const std::string& s : separators(spec.kind)) v.tokens.push_back(s);
    return v;
}

int task_context(const TaskSpec& spec) {
    switch (spec.kind) {
        case TaskKind::copy:
        case TaskKind::reverse:
        case TaskKind::sort: return 2 * spec.length;
        case TaskKind::brackets: return spec.length + 1;
        case TaskKind::modular_addition: return 4;
        default: return spec.length;
    }
}

Example task_example(const TaskSpec& spec, std::uint64_t seed, std::uint64_t index) {
    return generate(spec, seed, random::hash_bytes("task/train"), index, false);
}

TaskBatch task_batch(const TaskSpec& spec, std::uint64_t seed, std::uint64_t first, int B) {
    TaskBatch batch;
    for (int b = 0; b < B; ++b) {
        const Example e = task_example(spec, seed, first + static_cast<std::uint64_t>(b));
        batch.inputs.insert(batch.inputs.end(), e.inputs.begin(), e.inputs.end());
        batch.targets.insert(batch.targets.end(), e.targets.begin(), e.targets.end());
    }
    return batch;
}

std::vector<Example> validation_set(const TaskSpec& spec, std::uint64_t seed, int count) {
    std::vector<Example> out;
    for (int i = 0; i < count; ++i) out.push_back(generate(spec, seed, random::hash_bytes("task/validation"), static_cast<std::uint64_t>(i), true));
    return out;
}

TaskScore evaluate_task(const Model& model, const std::vector<Example>& examples) {
    TaskScore score;
    if (examples.empty()) return score;
    const int T = static_cast<int>(examples[0].inputs.size()), V = model.config.vocab_size;
    constexpr int kRows = 64;  // examples per forward pass
    double loss = 0;
    long long right = 0, whole = 0;
    for (std::size_t first = 0; first < examples.size(); first += kRows) {
        const int B = static_cast<int>(std::min<std::size_t>(kRows, examples.size() - first));
        gpt::RunState s = gpt::make_run_state(model.config, B, T, false);
        for (int b = 0; b < B; ++b) {
            std::copy(examples[first + b].inputs.begin(), examples[first + b].inputs.end(), s.inputs.begin() + static_cast<std::ptrdiff_t>(b) * T);
            std::copy(examples[first + b].targets.begin(), examples[first + b].targets.end(), s.targets.begin() + static_cast<std::ptrdiff_t>(b) * T);
        }
        gpt::gpt_forward(s, model);
        const gpt::ActivationTensors a = s.activations();
        for (int b = 0; b < B; ++b) {
            bool all = true;
            for (int t = 0; t < T; ++t) {
                const std::size_t i = static_cast<std::size_t>(b) * T + t;
                const int target = s.targets[i];
                if (target < 0) continue;
                const float* z = a.logits + i * V;
                const int guess = static_cast<int>(std::max_element(z, z + V) - z);
                loss += a.losses[i];
                right += guess == target;
                all &= guess == target;
                ++score.scored;
            }
            whole += all;
        }
    }
    if (score.scored > 0) {
        score.loss = loss / static_cast<double>(score.scored);
        score.accuracy = static_cast<double>(right) / static_cast<double>(score.scored);
    }
    score.sequences = static_cast<double>(whole) / static_cast<double>(examples.size());
    return score;
}

}  // namespace attnviz
