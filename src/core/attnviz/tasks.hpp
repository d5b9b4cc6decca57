// attnviz/tasks.hpp — small synthetic tasks to train a model on in a minute (issue 12): each a
// seeded, endless generator of examples, a fixed validation set, and a score.
//
// Index
//   1. TaskSpec       which task, how many symbols, how long
//   2. Examples       task_example and task_batch (the training stream), validation_set
//   3. Scoring        evaluate_task: loss and accuracy on the scored positions
//
// An example is one sequence: `inputs` (T token ids) and `targets` (T ids, -1 where nothing is
// scored), for the Trainer's explicit batches (Trainer::step_batch). Every value is a hash of
// (seed, index) by the core's counter-based generator: the same examples natively and in wasm.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "attnviz/model.hpp"

namespace attnviz {

//-----------------------------------------------------------------------------
// 1. TaskSpec
//-----------------------------------------------------------------------------
// The formats (a…: random symbols; n: length; the scored targets in brackets):
//   copy              a1…an | [a1…an]            the first half again
//   reverse           a1…an | [an…a1]            the first half backwards
//   sort              a1…an | [sorted a]         the first half in the symbols' order
//   previous_token    a1…an, target at t: [a(t-1)]  (not the next token: the one before)
//   induction         r r r… with r of a random period p (distinct symbols, 4 <= p <= n/2): after
//                     the first period every next token [r(t+1 mod p)] is a copy of what followed
//                     the same symbol before; the period varies, so only looking the symbol up
//                     (an induction head) works, not a fixed offset
//   brackets          ( ) … of length n, = [y|n]  balanced or not (half are)
//   modular_addition  a + b = [c]  with c = (a + b) mod p, p = symbols; ⌈p²/5⌉ of the (a, b) pairs,
//                     chosen by the seed, are held out for validation, never trained on
enum class TaskKind { copy, reverse, sort, previous_token, induction, brackets, modular_addition };

struct TaskSpec {
    TaskKind kind    = TaskKind::induction;
    int      symbols = 16;  // distinct symbols (a, b, …; at most 26), or p for modular_addition (3..113)
    int      length  = 32;  // n above (ignored by modular_addition, whose examples are 4 tokens)
};

const char*             task_name(TaskKind kind);              // "copy", "reverse", …, "modular_addition"
std::optional<TaskKind> task_from_name(std::string_view name);

// "" when valid, else "<field>: <expected>" (symbols and length ranges per task: induction needs
// length >= 8 and symbols >= length / 2, so that a period's symbols can all differ).
std::string check_task(const TaskSpec& spec);

// The task's vocabulary: its symbols ("a"… or "0"…"p-1"), then the separators it uses ("|", "(",
// ")", "=", "y", "n", "+"); no unknown or beginning-of-text token.
Vocabulary task_vocabulary(const TaskSpec& spec);

// T: every example's length (inputs and targets), the context a model needs.
int task_context(const TaskSpec& spec);

//-----------------------------------------------------------------------------
// 2. Examples
//-----------------------------------------------------------------------------
struct Example {
    std::vector<int> inputs;   // (T)
    std::vector<int> targets;  // (T) the id to predict at each position, -1 where nothing is scored
};

// The training stream: example `index` of the task for `seed` (any index, in any order).
Example task_example(const TaskSpec& spec, std::uint64_t seed, std::uint64_t index);

// Examples first … first + B − 1 of the training stream end to end: B × T inputs and targets,
// row-major, as Trainer::step_batch takes them.
struct TaskBatch {
    std::vector<int> inputs;   // (B, T)
    std::vector<int> targets;  // (B, T)
};
TaskBatch task_batch(const TaskSpec& spec, std::uint64_t seed, std::uint64_t first, int B);

// `count` examples from a stream of their own (the same for a seed; modular addition's come from
// the held-out pairs only).
std::vector<Example> validation_set(const TaskSpec& spec, std::uint64_t seed, int count);

//-----------------------------------------------------------------------------
// 3. Scoring
//-----------------------------------------------------------------------------
struct TaskScore {
    double loss      = 0;  // mean cross-entropy over the scored positions (nats)
    double accuracy  = 0;  // share of scored positions whose most likely token is the target
    double sequences = 0;  // share of examples with every scored position right
    long long scored = 0;  // scored positions counted
};

// The model on `examples` (all of one length T <= the model's block_size), by the training
// forward pass.
TaskScore evaluate_task(const Model& model, const std::vector<Example>& examples);

}  // namespace attnviz
