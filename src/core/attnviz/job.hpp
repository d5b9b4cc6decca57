// attnviz/job.hpp — run(), a little at a time: the attention pass split into steps that each
// take about a millisecond, so an interface can spread a long sequence over many frames.
//
// Index
//   1. RunJob   start(config) → step(budget) until done → take() the Trace
//
// run(config) is exactly RunJob::start(config), step() until it returns true, take(): one
// implementation, so a job's trace is run()'s trace bit for bit and its errors are run()'s
// messages, however small the budget. The work is cut at the pass's natural boundaries —
// embeddings, positions, the projections by blocks of rows, the mask, then head by head a
// block of query rows at a time through scores, scaled, softmax and weights·V (stage
// "attention", each part timed in its own StageTimes field), then the output projection — in
// the order run() computes them. Dropping a job mid-way cancels it and frees everything.
#pragma once

#include <memory>

#include "attnviz/config.hpp"
#include "attnviz/expected.hpp"
#include "attnviz/trace.hpp"

namespace attnviz {

//-----------------------------------------------------------------------------
// 1. RunJob
//-----------------------------------------------------------------------------
class RunJob {
public:
    // About how much one step computes, in multiply-adds of a matmul (other stages' cells are
    // weighed by their cost next to one): 2^22, a fraction of a millisecond natively and about a
    // millisecond in wasm. Smaller steps give shorter frames and a finer progress, at some overhead.
    static constexpr double default_work_per_step = 1 << 22;

    // Validates `config` (tokenizing its text: the "tokenize" stage) and plans the pass; an
    // invalid config is run()'s error. The job keeps its own copy of the config. The steps'
    // size changes how the work is cut, never what it computes.
    //
    // keep_head -1 keeps every head's (T, N) matrices (scores, scaled, mask, weights) in the
    // trace, as run() does; a head h keeps only head h's: the other heads go from Q to out a
    // block of query rows at a time in buffers, over only the span of keys the block may see
    // (a sliding window's O(w) keys a row, not N), so a long sequence needs one head's
    // T×N matrices instead of H (at T = 4096, 8 heads: about 0.35 GiB instead of 2.25). Every
    // number that is kept equals run()'s bit for bit. The memory limit (1.5 GiB) is checked
    // for what is kept. Errors are run()'s.
    static Expected<RunJob> start(const Config& config, double work_per_step = default_work_per_step, int keep_head = -1);
    static Expected<RunJob> start(Config&& config, double work_per_step = default_work_per_step, int keep_head = -1);  // the config moved in, not copied

    // The interface's choice of keep_head for a view of head `head`: -1 (every head) while the
    // trace's bytes (trace_bytes) stay within keep_every_head_bytes, else `head` fitted to the
    // config's heads. At T = 4096 with 8 heads every head's T×N matrices take 2.25 GiB, one
    // head's about 0.35 GiB, and a page holds two traces while a pass runs. An invalid config
    // gives -1: starting it reports the error. The app and the benchmark's trace mode use it.
    static constexpr double keep_every_head_bytes = 256.0 * 1024 * 1024;
    static int keep_head_for(const Config& config, int head);

    // The steps run() takes: nothing waits between them, so they are large (each block of a
    // matmul repacks its right-hand matrix; the numbers are the same whatever the steps).
    static constexpr double whole_run_work_per_step = 1 << 26;

    bool step(double budget_ms);  // computes until budget_ms have passed (at least one step) or the pass ends; true when done
    bool done() const;            // the pass has finished or failed: take() has the outcome
    double progress() const;      // 0..1, estimated from the work done; never decreases; 1 when done
    const char* stage() const;    // the stage the next step works on, as in StageTimes: "embed" "positional" "project" "scores" (the mask) "attention" (a head, scores to out) "output", or "done"
    int head() const;             // the head the next step works on, -1 outside per-head work
    Expected<Trace> take();       // once done: the trace, or the error run() would return; empties the job

    RunJob(RunJob&&) noexcept;
    RunJob& operator=(RunJob&&) noexcept;
    ~RunJob();

private:
    struct State;
    explicit RunJob(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;  // null once taken (or moved from): done, nothing to take
};

}  // namespace attnviz
