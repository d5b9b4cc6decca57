// attnviz/task_session.hpp — training a small model on a task while someone watches (issue 12):
// settings in, snapshots out. The page's worker drives a TaskSession; the page keeps its
// snapshots in a SessionHistory and draws them.
//
// Index
//   1. SessionSettings  task, model, optimizer, seed, steps: everything a run link holds
//   2. TaskSession      start → step … → snapshot; divergence; the model to export
//   3. SessionSnapshot  what the Train view draws of one moment of the run
//   4. SessionHistory   the curves and a bounded set of snapshots for the scrubber
//   5. JSON             settings and snapshots as they cross between worker and page
//
// A session is deterministic for one build: the same settings give the same steps, losses and
// weights (the batches are task_batch(task, seed, step·B, B); the model is init_model(seed)).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "attnviz/expected.hpp"
#include "attnviz/model.hpp"
#include "attnviz/model_trace.hpp"
#include "attnviz/tasks.hpp"
#include "attnviz/train.hpp"

namespace attnviz {

struct SessionSnapshot;

//-----------------------------------------------------------------------------
// 1. SessionSettings
//-----------------------------------------------------------------------------
// The model is nanoGPT's with RoPE positions (relative: a head that attends "one back" does so
// at every position) and its own lm_head, not tied to wte: tied, an attention-only model's direct
// path e·wteᵀ scores the current token highest, a guess these tasks never want, and measured
// here its induction task stalls near 50 % where the untied model reaches 99 % by step 300.
// The optimizer AdamW with a 20-step warm-up and a cosine
// decay to a tenth of learning_rate at max_steps, weight decay 0.01, gradient clipping at 1.
struct SessionSettings {
    TaskSpec      task;
    int           n_layer       = 2;      // 1 … 4
    int           n_head        = 4;      // 1 … 8, divides n_embd (an even head size for RoPE)
    int           n_embd        = 64;     // d_model, 8 … 256
    bool          mlp           = false;  // attention-only by default: every learned circuit is a head
    int           batch_size    = 32;     // B examples per step, 1 … 512
    float         learning_rate = 3e-3f;  // peak, (0, 1]
    int           max_steps     = 600;    // the run stops here, 1 … 20000
    std::uint64_t seed          = 1;      // the model's initial weights and the examples' stream, 0 … 2^53 − 1
};

namespace session_limits {
inline constexpr int         max_layers = 4, max_heads = 8, min_embd = 8, max_embd = 256;
inline constexpr int         max_batch = 512, max_steps = 20000;
inline constexpr std::size_t max_bytes = 512u * 1024 * 1024;  // the worker's memory budget for one run
}  // namespace session_limits

// Defaults per task that learn within a minute in one wasm thread (natively, validation accuracy
// at the last step, seed 1: induction 100 % by step 300, copy 100 %, reverse 98 %, sort 99.9 %,
// previous token 100 %, brackets 100 %, modular addition 90 % on the held-out pairs).
SessionSettings default_session(TaskKind kind);

// Bytes a session needs: parameters with their gradients and AdamW's two moments, the last good
// weights, and one batch's activations and their gradients (the training batch or the
// evaluation's 64 examples, whichever is larger). 64-bit even in wasm.
std::uint64_t session_bytes(const SessionSettings& settings);

// "" when the settings can run, else "<field>: <expected>" — session_limits, check_task, a
// model too large for session_limits::max_bytes (the message names the limit and the need).
std::string check_session(const SessionSettings& settings);

// The model's config for the settings (block_size = the task's context).
ModelConfig session_model_config(const SessionSettings& settings);

//-----------------------------------------------------------------------------
// 2. TaskSession
//-----------------------------------------------------------------------------
class TaskSession {
public:
    static Expected<TaskSession> start(const SessionSettings& settings);

    // One optimizer step on the next batch: the Trainer's stats (tokens: the session's). A loss
    // that is not finite, or past 3·ln(V) after the warm-up, stops the session (diverged()); then
    // step() does nothing more (its stats are empty), and model() is the last snapshot's weights.
    StepStats step();
    bool finished() const;                     // max_steps taken, or diverged
    bool diverged() const;
    const std::string& stop_reason() const;    // "" while running; why it stopped
    int steps() const;
    int good_step() const;                     // the step of the last good weights (the last snapshot's, or 0)

    // The run as it is now: the validation score, every head's attention on the probe, their
    // role scores. The weights become the last good ones if they are finite with a validation loss
    // below three times a uniform guess's; else the session diverged, and the snapshot is the
    // last good one's (its step, tokens, losses and heads).
    SessionSnapshot snapshot();

    const Model& model() const;                // the current weights (the last good ones after a divergence)
    const SessionSettings& settings() const;

    TaskSession(TaskSession&&) noexcept;
    TaskSession& operator=(TaskSession&&) noexcept;
    ~TaskSession();

private:
    struct State;
    explicit TaskSession(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
};

//-----------------------------------------------------------------------------
// 3. SessionSnapshot
//-----------------------------------------------------------------------------
struct SessionSnapshot {
    int                    step = 0;           // steps taken
    long long              tokens = 0;         // training tokens seen
    float                  train_loss = 0;     // the last step's batch loss
    TaskScore              validation;         // on validation_set(task, seed, 128)
    int                    L = 0, H = 0, T = 0;
    std::vector<int>       probe;              // (T) token ids of the probe sequence
    std::vector<float>     attention;          // (L, H, T, T) every head's weights on the probe (the training pass's)
    std::vector<HeadRoles> roles;              // (L·H) on the standard role probe (a random sequence twice)
};

// Every head's attention (L, H, T, T) on `ids` by the training forward pass.
std::vector<float> session_attention(const Model& model, const std::vector<int>& ids);

//-----------------------------------------------------------------------------
// 4. SessionHistory
//-----------------------------------------------------------------------------
// The page's record of a run: every step's training loss, one curve point per snapshot, and at
// most max_kept snapshots' attention for the scrubber. When full, every other kept snapshot is
// dropped (never the first or the newest), so the kept ones stay spread over the whole run and
// memory stays bounded however long it runs.
struct CurvePoint {
    int                 step = 0;
    float               train_loss = 0;
    TaskScore           validation;
    std::vector<HeadRoles> roles;  // (L·H)
};

class SessionHistory {
public:
    explicit SessionHistory(std::size_t max_kept = 48) : max_kept_(max_kept) {}
    void add_losses(const std::vector<std::pair<int, float>>& losses);  // (step, training loss) of steps since the last call
    void add(SessionSnapshot snapshot);
    void clear();

    const std::vector<std::pair<int, float>>& losses() const { return losses_; }
    const std::vector<CurvePoint>&            curve() const { return curve_; }
    const std::vector<SessionSnapshot>&       kept() const { return kept_; }

private:
    std::size_t                        max_kept_;
    std::vector<std::pair<int, float>> losses_;
    std::vector<CurvePoint>            curve_;
    std::vector<SessionSnapshot>       kept_;
};

//-----------------------------------------------------------------------------
// 5. JSON
//-----------------------------------------------------------------------------
// {"task", "symbols", "length", "n_layer", "n_head", "n_embd", "mlp", "batch_size",
//  "learning_rate", "max_steps", "seed"}; reading is strict (errors name the field) and a missing
// member takes the task's default.
std::string session_settings_json(const SessionSettings& settings);
Expected<SessionSettings> read_session_settings(std::string_view text);

// A snapshot without its attention (which crosses as a Float32Array): {"step", "tokens",
// "train_loss", "validation": {"loss", "accuracy", "sequences", "scored"}, "L", "H", "T",
// "probe": [ids], "roles": [[previous_token, induction, first_token, self, mean_distance], …]}.
std::string session_snapshot_json(const SessionSnapshot& snapshot);
// The same back, with `attention` (L·H·T·T floats) put in place; errors name the field.
Expected<SessionSnapshot> read_session_snapshot(std::string_view text, std::vector<float> attention);

}  // namespace attnviz
