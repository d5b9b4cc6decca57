// model_bench.cpp — speed of the GPT (issue 10): its model trace and its trainer, natively and
// as wasm. Not a test: nothing here asserts a time.
//
// Index
//   1. Shapes             the trained shapes: the shipped model's, issue 10's comparison shape, issue 12's two
//   2. Models and texts   the shipped file (or init_model of its shape), texts of N characters
//   3. Trace timing       model_trace alone; model_trace_to_json separately; an image model's trace (issue 13)
//   4. Training           a Trainer on a seeded token stream, one step() at a time
//   4b. Tasks             issue 12: a model trained on a synthetic task until it is right (time, steps)
//   5. Per-op profile     gpt_forward / gpt_backward / clip / AdamW re-run op by op with timers
//   6. Ceilings           independent vector mul+add chains; the core's packed matmul at 512³
//   7. Native driver      main(): trace | image FILE THREADS | serve SHAPE THREADS | profile SHAPE THREADS STEPS | ceiling |
//                         trace-loop | task NAME
//   8. Wasm exports       the same, for bench/model_run.mjs (one thread)
//
// FLOPs of one training token: the core's training_flops_per_token (attnviz/train.hpp), which the
// trainer's command and the page's worker quote too.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "attnviz/model.hpp"
#include "attnviz/model_trace.hpp"
#include "attnviz/task_session.hpp"
#include "attnviz/tasks.hpp"
#include "attnviz/train.hpp"
#include "gpt.hpp"      // the operations, re-run one by one by the profile
#include "kernels.hpp"  // matmul_packed for the ceiling and the profile's matmul split

#if defined(__EMSCRIPTEN__)
#include <emscripten/emscripten.h>
#define BENCH_EXPORT extern "C" EMSCRIPTEN_KEEPALIVE
#else
#include <thread>
#endif
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

namespace {

using namespace attnviz;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
    if (v.empty()) return NAN;
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

//-----------------------------------------------------------------------------
// 1. Shapes
//-----------------------------------------------------------------------------
struct TrainShape {
    const char* name;
    int n_layer, n_head, n_embd, block_size, vocab_size, batch;
    bool mlp = true;  // false: attention-only blocks (ModelConfig::mlp)
};
// "shipped": the shipped model's shape at its full context (web/models/attnviz_char; cmake/dev.sh
//            train ends on 4 x 512 after a warm-up on shorter windows, with ALiBi): 8 x 512 with
//            learned positions here, so that tfjs and PyTorch train the very same model;
// "issue":   issue 10's comparison shape, where it quotes tfjs-backend-wasm and PyTorch;
// "smoke":   a tiny one, to check the harness in seconds (bench/model.sh --shapes smoke);
// "attn2", "mlp4": issue 12's throughput shapes (model_run.mjs's throughput section, against
//            tfjs-backend-wasm only): 2 attention-only layers, and 4 layers with their MLP.
// Keep bench/model_run.mjs's copies of these in step, and bench/train_torch.py's of the first three.
constexpr TrainShape kTrainShapes[] = {
    {"shipped", 4, 4, 128, 512, 4071, 8}, {"issue", 4, 4, 128, 128, 2000, 16}, {"smoke", 2, 2, 32, 32, 100, 4},
    {"attn2", 2, 4, 64, 32, 16, 32, false}, {"mlp4", 4, 4, 96, 64, 256, 16}};

const TrainShape* find_shape(const std::string& name) {
    for (const TrainShape& s : kTrainShapes)
        if (name == s.name) return &s;
    return nullptr;
}

ModelConfig model_config(const TrainShape& s) {
    ModelConfig c;
    c.n_layer = s.n_layer;
    c.n_head = s.n_head;
    c.n_embd = s.n_embd;
    c.block_size = s.block_size;
    c.vocab_size = s.vocab_size;
    c.mlp = s.mlp;
    return c;
}

//-----------------------------------------------------------------------------
// 2. Models and texts
//-----------------------------------------------------------------------------
// A vocabulary of V tokens like the shipped one's: <|unk|>, <|bos|>, printable ASCII, then CJK
// ideographs from U+4E00 (3 bytes of UTF-8 each).
Vocabulary synthetic_vocabulary(int V) {
    Vocabulary v;
    v.tokens = {"<|unk|>", "<|bos|>"};
    v.unk = 0;
    v.bos = 1;
    for (char c = ' '; c <= '~' && static_cast<int>(v.tokens.size()) < V; ++c) v.tokens.emplace_back(1, c);
    for (std::uint32_t cp = 0x4E00; static_cast<int>(v.tokens.size()) < V; ++cp) {
        const char utf8[4] = {static_cast<char>(0xE0 | (cp >> 12)), static_cast<char>(0x80 | ((cp >> 6) & 0x3F)),
                              static_cast<char>(0x80 | (cp & 0x3F)), 0};
        v.tokens.emplace_back(utf8);
    }
    return v;
}

Expected<Model> synthetic_model(const ModelConfig& c, std::uint64_t seed = 1337) {
    return init_model(c, synthetic_vocabulary(c.vocab_size), seed);
}

// The shipped model from `path`, or (when it cannot be read) init_model of the shipped shape.
struct LoadedModel {
    Model model;
    std::string source;  // the file, or "init_model(...)"
    std::string error;
    std::shared_ptr<const PackedWeights> packed;  // its weights packed once, as the page does (pack_weights)
};

LoadedModel load_or_synthesize(const std::string& path) {
    LoadedModel out;
    std::ifstream in(path, std::ios::binary);
    if (!path.empty() && in) {
        const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        Expected<Model> m = load_model(bytes);
        if (m) {
            out.model = std::move(m.value());
            out.source = path;
            out.packed = pack_weights(out.model);
            return out;
        }
        out.error = path + ": " + m.error();
        return out;
    }
    Expected<Model> m = synthetic_model(model_config(kTrainShapes[0]));
    if (!m) {
        out.error = m.error();
        return out;
    }
    out.model = std::move(m.value());
    out.source = "init_model(4 layers, 4 heads, n_embd 128, block_size 512, vocab 4071)";
    out.packed = pack_weights(out.model);
    return out;
}

// English prose for the trace: the first n code points of this passage, repeated as needed.
std::string text_of(int n) {
    static const char* passage =
        "The quick brown fox jumps over the lazy dog while the children watch from the window. "
        "A teacher once said that every sentence is a small machine: the words go in at one end, "
        "and a meaning comes out of the other, if the parts fit together well. Attention is how a "
        "model decides which earlier words matter for the next one. Some heads look at the word "
        "just before, some at the first word of the text, and some copy what followed the last time "
        "the same word appeared. Read slowly, and you can watch them do it, one layer at a time. ";
    std::string out;
    const std::size_t len = std::strlen(passage);
    for (int i = 0; i < n; ++i) out += passage[i % len];  // ASCII: one code point per byte
    return out;
}

//-----------------------------------------------------------------------------
// 3. Trace timing
//-----------------------------------------------------------------------------
struct TraceTiming {
    double trace_ms = -1, json_ms = -1;
    int T = 0;
    std::size_t json_bytes = 0;
    std::string error;
};

// One model_trace of `chars` characters (+ <|bos|>), timed alone; then, if asked, its JSON.
TraceTiming time_trace(const LoadedModel& lm, int chars, bool json) {
    const Model& model = lm.model;
    TraceTiming r;
    ModelTraceOptions o;
    o.text = text_of(chars);
    const auto t0 = Clock::now();
    Expected<ModelTrace> trace = model_trace(model, o, lm.packed.get());
    r.trace_ms = ms_since(t0);
    if (!trace) {
        r.error = trace.error();
        r.trace_ms = -1;
        return r;
    }
    r.T = trace.value().T;
    if (json) {
        const auto t1 = Clock::now();
        const std::string s = model_trace_to_json(trace.value(), model);
        r.json_ms = ms_since(t1);
        r.json_bytes = s.size();
    }
    return r;
}

// An image model's full trace of one image (issue 13): model_trace (every layer, every head,
// the class probabilities) plus attention_rollout, as the Images view computes them for each
// new image; `runs` times after a warm-up. The image: a seeded random one (the time does not
// depend on the pixels). A JSON line {"kind": "image_trace", …}; an "error" member on failure.
std::string image_trace_json(const std::string& path, const char* engine, int threads, int runs) {
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    Expected<Model> loaded = load_model(bytes);
    if (!loaded) return "{\"kind\":\"image_trace\",\"error\":\"" + path + ": not loaded\"}";
    const Model& model = loaded.value();
    if (!model.config.is_image()) return "{\"kind\":\"image_trace\",\"error\":\"" + path + ": not an image model\"}";
    ModelTraceOptions o;
    o.top_k = model.config.vocab_size;
    std::uint64_t state = 12345;
    for (int i = 0; i < model.config.image_size * model.config.image_size; ++i) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        o.image.push_back(static_cast<float>(state >> 40) / static_cast<float>(1 << 24));
    }
    std::vector<double> ms;
    for (int r = 0; r <= runs; ++r) {
        const auto t0 = Clock::now();
        Expected<ModelTrace> t = model_trace(model, o);
        if (!t) return "{\"kind\":\"image_trace\",\"error\":\"" + t.error() + "\"}";
        const Matrix rollout = attention_rollout(t.value());
        if (r > 0) ms.push_back(ms_since(t0));  // the first is the warm-up
        if (rollout.size() == 0) return "{}";
    }
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "{\"kind\":\"image_trace\",\"engine\":\"%s\",\"threads\":%d,\"model\":\"%s\",\"image_size\":%d,\"patch_size\":%d,"
                  "\"T\":%d,\"n_layer\":%d,\"n_embd\":%d,\"trace_ms\":%.4f,\"runs\":%d}",
                  engine, threads, path.c_str(), model.config.image_size, model.config.patch_size, model.config.block_size,
                  model.config.n_layer, model.config.n_embd, median(ms), runs);
    return buf;
}

//-----------------------------------------------------------------------------
// 4. Training
//-----------------------------------------------------------------------------
// ids uniform in [2, V) (never <|unk|> or <|bos|>): the step's cost does not depend on the data.
std::vector<int> token_stream(int V, std::size_t n, std::uint64_t seed = 7) {
    std::vector<int> ids(n);
    std::uint64_t x = seed;
    for (int& id : ids) {
        x += 0x9e3779b97f4a7c15ull;
        std::uint64_t z = x;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        id = 2 + static_cast<int>(z % static_cast<std::uint64_t>(V - 2));
    }
    return ids;
}

TrainConfig train_config(const TrainShape& s, int threads) {
    TrainConfig c;
    c.batch_size = s.batch;
    c.block_size = s.block_size;
    c.max_iters = c.lr_decay_iters = 100000;
    c.threads = threads;
    return c;
}

Expected<Trainer> start_trainer(const TrainShape& s, int threads) {
    Expected<Model> m = synthetic_model(model_config(s));
    if (!m) return fail(m.error());
    return Trainer::start(std::move(m.value()), train_config(s, threads), token_stream(s.vocab_size, 1 << 17));
}

//-----------------------------------------------------------------------------
// 4b. Tasks (issue 12): train on a synthetic task until the validation accuracy reaches a target
//-----------------------------------------------------------------------------
// A message as a JSON string's contents: quotes and backslashes become apostrophes.
std::string escape(const std::string& s) {
    std::string out;
    for (char c : s) out += c == '"' || c == '\\' ? '\'' : c;
    return out;
}

// The page's own training session (attnviz/task_session.hpp: what the Train view runs) at the
// issue's shape: 2 layers, d_model 64, 4 heads, context 32, attention-only (RoPE, an untied
// lm_head), batches of 32 fresh examples, AdamW 3e-3 with a 20-step warm-up and a cosine decay
// to a tenth at max_steps.
struct TaskRun {
    const char* name;
    TaskSpec    spec;
    double      target;     // validation accuracy to reach
    double      induction;  // and the best head's induction score to reach (the issue: an induction head >= 0.5)
    int         max_steps;
};
const TaskRun kTaskRuns[] = {
    {"induction", {TaskKind::induction, 16, 32}, 0.90, 0.5, 3000},
    {"sort", {TaskKind::sort, 16, 16}, 0.99, 0.0, 6000},
};

double best_induction(const SessionSnapshot& snap) {
    double best = 0;
    for (const HeadRoles& h : snap.roles) best = std::max(best, h.induction);
    return best;
}

// Trains until the targets (checked every 25 steps by the session's snapshot: accuracy on 128
// validation examples, the heads' role scores) or max_steps; one JSON line: steps and seconds to the target (training alone,
// snapshots apart), the accuracy curve, and the heads' best previous-token and induction scores
// on the role probe at the end.
std::string task_run_json(const char* name, const char* engine) {
    const TaskRun* run = nullptr;
    for (const TaskRun& r : kTaskRuns)
        if (std::strcmp(r.name, name) == 0) run = &r;
    if (!run) return "{\"error\":\"unknown task run " + escape(name) + "\"}";
    SessionSettings settings = default_session(run->spec.kind);
    settings.task = run->spec;
    settings.n_layer = 2;
    settings.n_head = 4;
    settings.n_embd = 64;
    settings.mlp = false;
    settings.batch_size = 32;
    settings.learning_rate = 3e-3f;
    settings.max_steps = run->max_steps;
    Expected<TaskSession> session = TaskSession::start(settings);
    if (!session) return "{\"error\":\"" + escape(session.error()) + "\"}";
    const int T = task_context(settings.task);
    double train_s = 0, eval_s = 0;
    SessionSnapshot snap;
    std::string curve;
    const auto reached = [&] { return snap.validation.accuracy >= run->target && best_induction(snap) >= run->induction; };
    while (!session.value().finished() && !reached()) {
        const auto t0 = Clock::now();
        session.value().step();
        train_s += ms_since(t0) / 1000;
        if (session.value().steps() % 25 == 0) {
            const auto t1 = Clock::now();
            snap = session.value().snapshot();
            eval_s += ms_since(t1) / 1000;
            char point[48];
            std::snprintf(point, sizeof point, "%s[%d,%.3f]", curve.empty() ? "" : ",", snap.step, snap.validation.accuracy);
            curve += point;
        }
    }
    double previous = 0;
    for (const HeadRoles& h : snap.roles) previous = std::max(previous, h.previous_token);
    const int steps = session.value().steps();
    char out[512];
    std::snprintf(out, sizeof out,
                  "{\"kind\":\"task\",\"engine\":\"%s\",\"task\":\"%s\",\"target\":%.2f,\"reached\":%s,\"steps\":%d,\"train_s\":%.2f,"
                  "\"eval_s\":%.2f,\"accuracy\":%.4f,\"sequences\":%.4f,\"tokens_per_s\":%.0f,\"induction_score\":%.3f,"
                  "\"previous_token_score\":%.3f,",
                  engine, run->name, run->target, reached() ? "true" : "false", steps, train_s, eval_s, snap.validation.accuracy,
                  snap.validation.sequences, static_cast<double>(steps) * settings.batch_size * T / std::max(train_s, 1e-9),
                  best_induction(snap), previous);
    return std::string(out) + "\"curve\":[" + curve + "]}";
}

//-----------------------------------------------------------------------------
// 5. Per-op profile
//-----------------------------------------------------------------------------
// gpt_forward and gpt_backward (src/core/gpt.cpp) re-run here call by call, each call timed and
// charged to a named op with its FLOPs; then clip_gradients and adamw_update, as Trainer::step.
// With one thread the linear layers are split further (packing, transposing, the matmul kernel,
// the bias), re-implemented from gpt.cpp's matmul_forward / matmul_backward with the same kernel
// calls. Both re-runs are checked bit for bit against gpt_forward + gpt_backward before they are
// trusted: if gpt.cpp changes, the profile says "differs" instead of timing something else.
struct OpTime {
    double ms = 0;
    double flops = 0;
    int calls = 0;
};

class Profile {
public:
    std::map<std::string, OpTime> ops;
    std::vector<std::string> order;  // first-seen order, for printing

    template <class F>
    void time(const std::string& name, double flops, F&& f) {
        const auto t0 = Clock::now();
        f();
        add(name, ms_since(t0), flops);
    }
    void add(const std::string& name, double ms, double flops) {
        if (!ops.count(name)) order.push_back(name);
        OpTime& o = ops[name];
        o.ms += ms;
        o.flops += flops;
        o.calls += 1;
    }
};

std::unique_ptr<float[]> buffer(std::size_t n) { return std::unique_ptr<float[]>(new float[std::max<std::size_t>(n, 1)]); }

struct ProfiledPass {
    Profile& prof;
    bool split;  // one thread: time the linear layers' parts

    void matmul_forward(const std::string& name, float* out, const float* inp, const float* weight, const float* bias, int N,
                        int C, int OC) {
        const double flops = 2.0 * N * C * OC;
        if (!split) {
            prof.time("linear fwd " + name, flops, [&] { gpt::matmul_forward(out, inp, weight, bias, N, C, OC); });
            return;
        }
        const auto packed = buffer(kernels::packed_size(C, OC));
        prof.time("linear fwd " + name + " [pack Wᵀ]", 0, [&] { kernels::pack_transposed(packed.get(), weight, C, C, OC); });
        prof.time("linear fwd " + name + " [matmul + bias]", flops,
                  [&] { kernels::matmul_packed(out, OC, inp, packed.get(), N, C, OC, false, bias); });
    }

    // always with set_dinp, as gpt_backward calls it
    void matmul_backward(const std::string& name, float* dinp, float* dweight, float* dbias, const float* dout,
                         const float* inp, const float* weight, int N, int C, int OC) {
        const double flops = 4.0 * N * C * OC;
        if (!split) {
            prof.time("linear bwd " + name, flops,
                      [&] { gpt::matmul_backward(dinp, dweight, dbias, dout, inp, weight, N, C, OC, true); });
            return;
        }
        {
            const auto packed = buffer(kernels::packed_size(OC, C));
            prof.time("linear bwd " + name + " [pack W]", 0, [&] { kernels::pack(packed.get(), weight, C, OC, C); });
            prof.time("linear bwd " + name + " [matmul dx]", flops / 2,
                      [&] { kernels::matmul_packed(dinp, C, dout, packed.get(), N, OC, C, false); });
        }
        {
            const auto packed = buffer(kernels::packed_size(N, C));
            prof.time("linear bwd " + name + " [pack x]", 0, [&] { kernels::pack(packed.get(), inp, C, N, C); });
            prof.time("linear bwd " + name + " [matmul dW]", flops / 2,
                      [&] { kernels::matmul_packed_at(dweight, C, dout, OC, packed.get(), OC, N, C, true); });
        }
        if (dbias)
            prof.time("linear bwd " + name + " [bias]", 0, [&] {
                for (int i = 0; i < N; ++i)
                    for (int j = 0; j < OC; ++j) dbias[j] += dout[static_cast<std::size_t>(i) * OC + j];
            });
    }

    // gpt.cpp's gpt_forward, call by call
    void forward(gpt::RunState& s, const Model& model) {
        const ModelConfig& c = model.config;
        const int B = s.B, T = s.T, C = c.n_embd, L = c.n_layer, H = c.n_head, V = c.vocab_size, BT = B * T;
        const ParameterTensors p = model.tensors();
        const gpt::ActivationTensors a = s.activations();
        float* const d_fch = s.activation_grads().fch;  // GELU's derivative, for the backward
        const std::size_t btc = static_cast<std::size_t>(BT) * C;
        const double att_flops = 4.0 * B * T * T * C;

        prof.time("encoder fwd", 0, [&] { gpt::encoder_forward(a.encoded, s.inputs.data(), p.wte, p.wpe, B, T, C); });
        for (int l = 0; l < L; ++l) {
            const float* residual = l == 0 ? a.encoded : a.residual3 + (l - 1) * btc;
            float* ln1 = a.ln1 + l * btc;
            float* qkv = a.qkv + l * btc * 3;
            float* atty = a.atty + l * btc;
            float* attproj = a.attproj + l * btc;
            float* residual2 = a.residual2 + l * btc;
            float* residual3 = a.residual3 + l * btc;
            prof.time("layernorm fwd", 0, [&] {
                gpt::layernorm_forward(ln1, a.ln1_mean + l * BT, a.ln1_rstd + l * BT, residual, p.ln1w + l * C, p.ln1b + l * C, BT, C);
            });
            matmul_forward("c_attn", qkv, ln1, p.qkvw + static_cast<std::size_t>(l) * 3 * C * C, p.qkvb + l * 3 * C, BT, C, 3 * C);
            prof.time("attention fwd", att_flops,
                      [&] { gpt::attention_forward(atty, a.att + static_cast<std::size_t>(l) * B * H * T * T, qkv, B, T, C, H); });
            matmul_forward("attn.c_proj", attproj, atty, p.attprojw + static_cast<std::size_t>(l) * C * C, p.attprojb + l * C, BT, C, C);
            prof.time("residual fwd", 0, [&] { gpt::residual_forward(residual2, residual, attproj, btc); });
            if (!c.mlp) {  // attention-only: the block's output is residual2
                prof.time("residual fwd", 0, [&] { std::copy(residual2, residual2 + btc, residual3); });
                continue;
            }
            float* ln2 = a.ln2 + l * btc;
            float* fch = a.fch + l * btc * 4;
            float* fch_gelu = a.fch_gelu + l * btc * 4;
            float* fcproj = a.fcproj + l * btc;
            prof.time("layernorm fwd", 0, [&] {
                gpt::layernorm_forward(ln2, a.ln2_mean + l * BT, a.ln2_rstd + l * BT, residual2, p.ln2w + l * C, p.ln2b + l * C, BT, C);
            });
            matmul_forward("c_fc", fch, ln2, p.fcw + static_cast<std::size_t>(l) * 4 * C * C, p.fcb + l * 4 * C, BT, C, 4 * C);
            prof.time("gelu fwd", 0, [&] { gpt::gelu_forward(fch_gelu, d_fch + l * btc * 4, fch, btc * 4); });
            matmul_forward("mlp.c_proj", fcproj, fch_gelu, p.fcprojw + static_cast<std::size_t>(l) * C * 4 * C, p.fcprojb + l * C, BT,
                           4 * C, C);
            prof.time("residual fwd", 0, [&] { gpt::residual_forward(residual3, residual2, fcproj, btc); });
        }
        const float* last = a.residual3 + (L - 1) * btc;
        prof.time("layernorm fwd", 0, [&] { gpt::layernorm_forward(a.lnf, a.lnf_mean, a.lnf_rstd, last, p.lnfw, p.lnfb, BT, C); });
        matmul_forward("lm_head", a.logits, a.lnf, p.lm_head, nullptr, BT, C, V);
        prof.time("softmax+crossentropy fwd", 0, [&] {
            gpt::softmax_crossentropy_forward(a.probs, a.losses, a.logits, s.targets.data(), BT, V);
            double sum = 0.0;
            int counted = 0;
            for (int i = 0; i < BT; ++i)
                if (s.targets[i] >= 0) {
                    sum += a.losses[i];
                    ++counted;
                }
            s.mean_loss = counted > 0 ? static_cast<float>(sum / counted) : -1.0f;
        });
    }

    // gpt.cpp's gpt_backward, call by call
    void backward(gpt::RunState& s, const Model& model) {
        const ModelConfig& c = model.config;
        const int B = s.B, T = s.T, C = c.n_embd, L = c.n_layer, H = c.n_head, V = c.vocab_size, BT = B * T;
        const ParameterTensors p = model.tensors();
        const ParameterTensors g = parameter_tensors(c, s.grads.data());
        const gpt::ActivationTensors a = s.activations();
        const gpt::ActivationTensors d = s.activation_grads();
        const std::size_t btc = static_cast<std::size_t>(BT) * C;
        const double att_flops = 8.0 * B * T * T * C;
        prof.time("zero gradients", 0, [&] { gpt::zero_gradients(s); });
        prof.time("softmax+crossentropy bwd", 0,
                  [&] { gpt::softmax_crossentropy_backward(d.logits, a.probs, s.targets.data(), BT, V); });
        matmul_backward("lm_head", d.lnf, g.lm_head, nullptr, d.logits, a.lnf, p.lm_head, BT, C, V);
        float* dlast = d.residual3 + (L - 1) * btc;
        prof.time("layernorm bwd", 0, [&] {
            gpt::layernorm_backward(dlast, g.lnfw, g.lnfb, d.lnf, a.residual3 + (L - 1) * btc, p.lnfw, a.lnf_mean, a.lnf_rstd, BT, C);
        });
        for (int l = L - 1; l >= 0; --l) {
            const float* residual = l == 0 ? a.encoded : a.residual3 + (l - 1) * btc;
            float* dresidual = l == 0 ? d.encoded : d.residual3 + (l - 1) * btc;
            const std::size_t lC = static_cast<std::size_t>(l) * C;
            float* dresidual3 = d.residual3 + l * btc;
            float* dresidual2 = d.residual2 + l * btc;
            if (!c.mlp) {  // attention-only: residual3 is residual2
                prof.time("residual bwd", 0, [&] {
                    for (std::size_t i = 0; i < btc; ++i) dresidual2[i] += dresidual3[i];
                });
            } else {
                prof.time("residual bwd", 0, [&] { gpt::residual_backward(dresidual2, d.fcproj + l * btc, dresidual3, btc); });
                matmul_backward("mlp.c_proj", d.fch_gelu + l * btc * 4, g.fcprojw + lC * 4 * C, c.bias ? g.fcprojb + lC : nullptr,
                                d.fcproj + l * btc, a.fch_gelu + l * btc * 4, p.fcprojw + lC * 4 * C, BT, 4 * C, C);
                prof.time("gelu bwd", 0,
                          [&] { gpt::gelu_backward(d.fch + l * btc * 4, d.fch + l * btc * 4, d.fch_gelu + l * btc * 4, btc * 4); });
                matmul_backward("c_fc", d.ln2 + l * btc, g.fcw + lC * 4 * C, c.bias ? g.fcb + lC * 4 : nullptr, d.fch + l * btc * 4,
                                a.ln2 + l * btc, p.fcw + lC * 4 * C, BT, C, 4 * C);
                prof.time("layernorm bwd", 0, [&] {
                    gpt::layernorm_backward(dresidual2, g.ln2w + lC, g.ln2b + lC, d.ln2 + l * btc, a.residual2 + l * btc, p.ln2w + lC,
                                            a.ln2_mean + l * BT, a.ln2_rstd + l * BT, BT, C);
                });
            }
            prof.time("residual bwd", 0, [&] { gpt::residual_backward(dresidual, d.attproj + l * btc, dresidual2, btc); });
            matmul_backward("attn.c_proj", d.atty + l * btc, g.attprojw + lC * C, c.bias ? g.attprojb + lC : nullptr,
                            d.attproj + l * btc, a.atty + l * btc, p.attprojw + lC * C, BT, C, C);
            prof.time("attention bwd", att_flops, [&] {
                gpt::attention_backward(d.qkv + l * btc * 3, d.atty + l * btc, a.qkv + l * btc * 3,
                                        a.att + static_cast<std::size_t>(l) * B * H * T * T, B, T, C, H);
            });
            matmul_backward("c_attn", d.ln1 + l * btc, g.qkvw + lC * 3 * C, c.bias ? g.qkvb + lC * 3 : nullptr, d.qkv + l * btc * 3,
                            a.ln1 + l * btc, p.qkvw + lC * 3 * C, BT, C, 3 * C);
            prof.time("layernorm bwd", 0, [&] {
                gpt::layernorm_backward(dresidual, g.ln1w + lC, g.ln1b + lC, d.ln1 + l * btc, residual, p.ln1w + lC,
                                        a.ln1_mean + l * BT, a.ln1_rstd + l * BT, BT, C);
            });
        }
        prof.time("encoder bwd", 0, [&] { gpt::encoder_backward(g.wte, g.wpe, d.encoded, s.inputs.data(), B, T, C); });
    }
};

struct ProfileResult {
    Profile prof;
    double step_ms = 0;        // median of the profiled steps' totals
    double plain_ms = 0;       // median of gpt_forward + gpt_backward + clip + AdamW, untimed inside
    bool matches = false;      // the profiled pass gave gpt_forward / gpt_backward's loss and gradients, bit for bit
    std::string error;
};

// `steps` profiled steps (after one warm-up of each kind), interleaved with plain ones.
ProfileResult profile_steps(const TrainShape& shape, int threads, int steps) {
    ProfileResult r;
    Expected<Model> m = synthetic_model(model_config(shape));
    if (!m) {
        r.error = m.error();
        return r;
    }
    Model& model = m.value();
    const TrainConfig tc = train_config(shape, threads);
    gpt::set_threads(threads);
    const int B = shape.batch, T = shape.block_size;
    gpt::RunState s = gpt::make_run_state(model.config, B, T);
    const std::vector<int> stream = token_stream(shape.vocab_size, static_cast<std::size_t>(B) * (T + 1));
    for (int b = 0; b < B; ++b)
        for (int t = 0; t < T; ++t) {
            s.inputs[static_cast<std::size_t>(b) * T + t] = stream[static_cast<std::size_t>(b) * (T + 1) + t];
            s.targets[static_cast<std::size_t>(b) * T + t] = stream[static_cast<std::size_t>(b) * (T + 1) + t + 1];
        }
    AdamWState adam;
    // the check: same loss and gradients as gpt.cpp's passes (before any update)
    gpt::gpt_forward(s, model);
    gpt::gpt_backward(s, model);
    const std::vector<float> want_grads = s.grads;
    const float want_loss = s.mean_loss;
    Profile warm;
    ProfiledPass warm_pass{warm, threads == 1};
    warm_pass.forward(s, model);
    warm_pass.backward(s, model);
    r.matches = s.mean_loss == want_loss &&
                std::memcmp(s.grads.data(), want_grads.data(), want_grads.size() * sizeof(float)) == 0;

    std::vector<double> totals, plains;
    for (int k = 0; k < steps; ++k) {
        {  // plain, as Trainer::step runs it
            const auto t0 = Clock::now();
            gpt::gpt_forward(s, model);
            gpt::gpt_backward(s, model);
            clip_gradients(s.grads, tc.grad_clip);
            adamw_update(model, s.grads, adam, 1e-4f, tc);
            plains.push_back(ms_since(t0));
        }
        const auto t0 = Clock::now();
        ProfiledPass pass{r.prof, threads == 1};
        pass.forward(s, model);
        pass.backward(s, model);
        r.prof.time("clip gradients", 0, [&] { clip_gradients(s.grads, tc.grad_clip); });
        r.prof.time("adamw", 0, [&] { adamw_update(model, s.grads, adam, 1e-4f, tc); });
        totals.push_back(ms_since(t0));
    }
    for (auto& [name, op] : r.prof.ops) {
        op.ms /= steps;
        op.flops /= steps;
        op.calls /= steps;
    }
    r.step_ms = median(totals);
    r.plain_ms = median(plains);
    return r;
}

std::string profile_json(const TrainShape& shape, int threads, const ProfileResult& r, const char* engine) {
    std::string out;
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "{\"kind\":\"profile\",\"engine\":\"%s\",\"shape\":\"%s\",\"threads\":%d,\"split\":%s,\"matches\":%s,"
                  "\"step_ms\":%.3f,\"plain_step_ms\":%.3f,\"tokens\":%d,\"flops_per_token\":%.0f,\"ops\":[",
                  engine, shape.name, threads, threads == 1 ? "true" : "false", r.matches ? "true" : "false", r.step_ms,
                  r.plain_ms, shape.batch * shape.block_size, training_flops_per_token(model_config(shape), shape.block_size));
    out += buf;
    bool first = true;
    for (const std::string& name : r.prof.order) {
        const OpTime& o = r.prof.ops.at(name);
        std::snprintf(buf, sizeof buf, "%s{\"op\":\"%s\",\"ms\":%.4f,\"flops\":%.0f,\"calls\":%d}", first ? "" : ",", name.c_str(),
                      o.ms, o.flops, o.calls);
        out += buf;
        first = false;
    }
    out += "]}";
    return out;
}

//-----------------------------------------------------------------------------
// 6. Ceilings
//-----------------------------------------------------------------------------
// The vector unit's mul+add ceiling: 12 independent chains acc = acc·m + a (PERF_NOTES.md's
// measure; 12 chains fit the registers of both V8's SIMD128 code and AVX2). Natively with FMA
// (one fused op, 2 FLOPs per lane); in wasm two ops (no relaxed SIMD with this toolchain).
// Returns GFLOP/s of one thread.
double chains_gflops(long iterations) {
    constexpr int chains = 12;
    volatile float seed_m = 0.999999f, seed_a = 1e-7f;
#if defined(__AVX2__) && defined(__FMA__)
    constexpr int lanes = 8;
    __m256 acc[chains];
    for (int c = 0; c < chains; ++c) acc[c] = _mm256_set1_ps(static_cast<float>(c));
    const __m256 m = _mm256_set1_ps(seed_m), a = _mm256_set1_ps(seed_a);
    const auto t0 = Clock::now();
    for (long i = 0; i < iterations; ++i)
        for (int c = 0; c < chains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], m, a);
    const double ms = ms_since(t0);
    float sink = 0;
    for (int c = 0; c < chains; ++c) sink += acc[c][0];
#else
    constexpr int lanes = 4;
    typedef float v4 __attribute__((vector_size(16)));
    v4 acc[chains];
    for (int c = 0; c < chains; ++c) acc[c] = v4{1.0f * c, 1.0f * c, 1.0f * c, 1.0f * c};
    const v4 m = {seed_m, seed_m, seed_m, seed_m}, a = {seed_a, seed_a, seed_a, seed_a};
    const auto t0 = Clock::now();
    for (long i = 0; i < iterations; ++i)
        for (int c = 0; c < chains; ++c) acc[c] = acc[c] * m + a;
    const double ms = ms_since(t0);
    float sink = 0;
    for (int c = 0; c < chains; ++c) sink += acc[c][0];
#endif
    volatile float keep = sink;
    (void)keep;
    return 2.0 * lanes * chains * static_cast<double>(iterations) / ms * 1e-6;
}

// The core's packed matmul (kernels::matmul_packed, the kernel every linear layer and attention
// product of the trainer runs) at M = K = N = 512, `reps` products per thread, each thread its own
// product (a throughput peak like the chains': one product split over both cores lasts under 3 ms,
// too short for the second core to be reliably on it from the start). GFLOP/s of all threads.
double matmul_gflops(int threads, int reps) {
    const int n = 512;
    std::vector<float> A(static_cast<std::size_t>(n) * n), Bm(A.size());
    for (std::size_t i = 0; i < A.size(); ++i) {
        A[i] = static_cast<float>((i * 7919) % 1000) * 1e-3f - 0.5f;
        Bm[i] = static_cast<float>((i * 104729) % 1000) * 1e-3f - 0.5f;
    }
    std::vector<float> packed(kernels::packed_size(n, n));
    kernels::pack(packed.data(), Bm.data(), n, n, n);
    std::vector<std::vector<float>> C(threads, std::vector<float>(A.size()));
    const auto products = [&](int w, int count) {
        for (int r = 0; r < count; ++r) kernels::matmul_packed(C[w].data(), n, A.data(), packed.data(), n, n, n);
    };
    products(0, 1);  // warm-up
    const auto t0 = Clock::now();
#if !defined(__EMSCRIPTEN__)
    std::vector<std::thread> pool;
    for (int w = 1; w < threads; ++w) pool.emplace_back(products, w, reps);
    products(0, reps);
    for (std::thread& t : pool) t.join();
#else
    products(0, reps);
#endif
    return 2.0 * n * n * n * reps * threads / ms_since(t0) * 1e-6;
}

std::string ceiling_json(const char* engine, int threads) {
    std::vector<double> chains, mm;
    for (int r = 0; r < 5; ++r) {  // interleaved, medians
        chains.push_back(chains_gflops(20000000));
        mm.push_back(matmul_gflops(1, 10));
    }
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "{\"kind\":\"ceiling\",\"engine\":\"%s\",\"threads\":1,\"chains_gflops\":%.2f,\"matmul512_gflops\":%.2f}", engine,
                  median(chains), median(mm));
    std::string out = buf;
#if !defined(__EMSCRIPTEN__)
    if (threads > 1) {
        std::vector<double> chains2, mm2;
        for (int r = 0; r < 5; ++r) {
            double per_thread[64] = {};
            std::vector<std::thread> pool;
            for (int w = 0; w < threads; ++w) pool.emplace_back([&per_thread, w] { per_thread[w] = chains_gflops(20000000); });
            for (std::thread& t : pool) t.join();
            double sum = 0;
            for (int w = 0; w < threads; ++w) sum += per_thread[w];
            chains2.push_back(sum);
            mm2.push_back(matmul_gflops(threads, 10));
        }
        std::snprintf(buf, sizeof buf,
                      "\n{\"kind\":\"ceiling\",\"engine\":\"%s\",\"threads\":%d,\"chains_gflops\":%.2f,\"matmul512_gflops\":%.2f}",
                      engine, threads, median(chains2), median(mm2));
        out += buf;
    }
#endif
    return out;
}

}  // namespace

//-----------------------------------------------------------------------------
// 7. Native driver
//-----------------------------------------------------------------------------
#if !defined(__EMSCRIPTEN__)
namespace {

constexpr const char* kUsage =
    "usage: attnviz-model-bench trace [MODEL] [THREADS]    model_trace of 64 and 511 characters (+ <|bos|>), JSON lines\n"
    "       attnviz-model-bench serve SHAPE THREADS         a Trainer; each 'step' line on stdin runs one step()\n"
    "       attnviz-model-bench profile SHAPE THREADS STEPS per-op times of STEPS steps (JSON)\n"
    "       attnviz-model-bench ceiling [THREADS]           mul+add chains and the packed matmul at 512^3\n"
    "       attnviz-model-bench trace-loop CHARS REPS [MODEL] model_trace alone REPS times (for perf record)\n"
    "       attnviz-model-bench task NAME                   train on a synthetic task until it is right (induction | sort)\n"
    "SHAPE: shipped | issue | smoke | attn2 | mlp4\n";

int trace_main(const std::string& path, int threads) {
    gpt::set_threads(threads);
    LoadedModel lm = load_or_synthesize(path);
    if (!lm.error.empty()) {
        std::fprintf(stderr, "attnviz-model-bench: %s\n", lm.error.c_str());
        return 1;
    }
    const int sizes[] = {64, 511};
    // per size: a warm-up, the trace alone `runs` times in a row, then its JSON apart (as model_run.mjs)
    const int runs[] = {40, 10}, json_runs[] = {5, 3};
    std::vector<double> trace_ms[2], json_ms[2];
    TraceTiming last[2];
    for (int k = 0; k < 2; ++k)
        for (int r = -1; r < runs[k] + json_runs[k]; ++r) {
            const bool json = r >= runs[k];
            const TraceTiming t = time_trace(lm, sizes[k], json);
            if (!t.error.empty()) {
                std::fprintf(stderr, "attnviz-model-bench: %s\n", t.error.c_str());
                return 1;
            }
            if (r >= 0 && !json) trace_ms[k].push_back(t.trace_ms);
            if (json) {
                json_ms[k].push_back(t.json_ms);
                last[k] = t;
            }
        }
    for (int k = 0; k < 2; ++k)
        std::printf("{\"kind\":\"trace\",\"engine\":\"attnviz native\",\"threads\":%d,\"model\":\"%s\",\"chars\":%d,\"T\":%d,"
                    "\"trace_ms\":%.3f,\"json_ms\":%.3f,\"json_bytes\":%zu,\"runs\":%zu}\n",
                    threads, escape(lm.source).c_str(), sizes[k], last[k].T, median(trace_ms[k]), median(json_ms[k]),
                    last[k].json_bytes, trace_ms[k].size());
    return 0;
}

// The line protocol bench/model_run.mjs drives: after start, one JSON line {"ready"...}; then
// for each "step" line, one step() and {"ms", "loss"}; "quit" or end of input stops.
int serve_main(const TrainShape& shape, int threads) {
    Expected<Trainer> t = start_trainer(shape, threads);
    if (!t) {
        std::printf("{\"error\":\"%s\"}\n", escape(t.error()).c_str());
        return 1;
    }
    std::printf("{\"ready\":true,\"parameters\":%zu,\"flops_per_token\":%.0f,\"simd\":\"%s\"}\n",
                parameter_count(model_config(shape)), training_flops_per_token(model_config(shape), shape.block_size),
                kernels::simd_path_name());
    std::fflush(stdout);
    char line[64];
    while (std::fgets(line, sizeof line, stdin)) {
        if (std::strncmp(line, "quit", 4) == 0) break;
        if (std::strncmp(line, "step", 4) != 0) continue;
        const StepStats st = t.value().step();
        std::printf("{\"ms\":%.3f,\"loss\":%.5f}\n", st.ms, st.loss);
        std::fflush(stdout);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
#if defined(__GLIBC__)
    // Keep freed memory in the process: glibc otherwise returns every block over 128 KiB (a head's
    // (T, T) matrices) to the kernel on free and maps it afresh, zero pages faulted in one by one,
    // on the next trace — 390 ms of a 43 ms trace of 512 characters. wasm's heap never shrinks,
    // so this makes the native figures comparable.
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "trace") return trace_main(argc > 2 ? argv[2] : "", argc > 3 ? std::atoi(argv[3]) : 1);
    if (mode == "image" && argc >= 3) {
        const int threads = argc > 3 ? std::atoi(argv[3]) : 1;
        gpt::set_threads(threads);
        std::printf("%s\n", image_trace_json(argv[2], "attnviz native", threads, 200).c_str());
        return 0;
    }
    if (mode == "trace-loop" && argc >= 4) {
        LoadedModel lm = load_or_synthesize(argc > 4 ? argv[4] : "");
        if (!lm.error.empty()) {
            std::fprintf(stderr, "attnviz-model-bench: %s\n", lm.error.c_str());
            return 1;
        }
        std::vector<double> ms;
        for (int r = 0; r < std::max(1, std::atoi(argv[3])); ++r) ms.push_back(time_trace(lm, std::atoi(argv[2]), false).trace_ms);
        std::printf("{\"kind\":\"trace-loop\",\"chars\":%d,\"trace_ms\":%.3f,\"runs\":%zu}\n", std::atoi(argv[2]), median(ms), ms.size());
        return 0;
    }
    if (mode == "task" && argc == 3) {
        std::printf("%s\n", task_run_json(argv[2], "attnviz native").c_str());
        return 0;
    }
    if (mode == "ceiling") {
        std::printf("%s\n", ceiling_json("attnviz native", argc > 2 ? std::atoi(argv[2]) : 2).c_str());
        return 0;
    }
    if ((mode == "serve" && argc == 4) || (mode == "profile" && argc == 5)) {
        const TrainShape* shape = find_shape(argv[2]);
        const int threads = std::atoi(argv[3]);
        if (!shape || threads < 1) {
            std::fputs(kUsage, stderr);
            return 2;
        }
        if (mode == "serve") return serve_main(*shape, threads);
        const ProfileResult r = profile_steps(*shape, threads, std::max(1, std::atoi(argv[4])));
        if (!r.error.empty()) {
            std::fprintf(stderr, "attnviz-model-bench: %s\n", r.error.c_str());
            return 1;
        }
        std::printf("%s\n", profile_json(*shape, threads, r, "attnviz native").c_str());
        return 0;
    }
    std::fputs(kUsage, stderr);
    return 2;
}
#endif

//-----------------------------------------------------------------------------
// 8. Wasm exports (bench/model_run.mjs; one thread; NODERAWFS reads the model file)
//-----------------------------------------------------------------------------
#if defined(__EMSCRIPTEN__)
namespace {
LoadedModel g_trace_model;
TraceTiming g_trace;
std::unique_ptr<Trainer> g_trainer;
StepStats g_step;
std::string g_text;  // the last JSON or error message handed to JS
}  // namespace

// 0 when the model (file or synthetic) is ready; else -1 and mb_text() says why.
BENCH_EXPORT int mb_trace_setup(const char* path) {
    g_trace_model = load_or_synthesize(path);
    g_text = g_trace_model.error.empty() ? g_trace_model.source : g_trace_model.error;
    return g_trace_model.error.empty() ? 0 : -1;
}
// One trace of `chars` characters; returns its ms (-1 on error; mb_text() has it). With `json`,
// mb_trace_json_ms() is the JSON's time afterwards.
BENCH_EXPORT double mb_trace_run(int chars, int json) {
    g_trace = time_trace(g_trace_model, chars, json != 0);
    if (!g_trace.error.empty()) g_text = g_trace.error;
    return g_trace.trace_ms;
}
// An image model's trace (section 3); mb_text() has its JSON line.
BENCH_EXPORT void mb_image_trace(const char* path) { g_text = image_trace_json(path, "attnviz wasm", 1, 200); }
// A synthetic task's run (section 4b); mb_text() has its JSON line.
BENCH_EXPORT void mb_task(const char* name) { g_text = task_run_json(name, "attnviz wasm"); }
BENCH_EXPORT double mb_trace_json_ms() { return g_trace.json_ms; }
BENCH_EXPORT double mb_trace_json_bytes() { return static_cast<double>(g_trace.json_bytes); }
BENCH_EXPORT int mb_trace_T() { return g_trace.T; }

BENCH_EXPORT int mb_train_start(const char* shape_name) {
    const TrainShape* shape = find_shape(shape_name);
    if (!shape) {
        g_text = std::string("unknown shape ") + shape_name;
        return -1;
    }
    Expected<Trainer> t = start_trainer(*shape, 1);
    if (!t) {
        g_text = t.error();
        return -1;
    }
    g_trainer = std::make_unique<Trainer>(std::move(t.value()));
    char buf[160];
    std::snprintf(buf, sizeof buf, "{\"parameters\":%zu,\"flops_per_token\":%.0f}", parameter_count(model_config(*shape)),
                  training_flops_per_token(model_config(*shape), shape->block_size));
    g_text = buf;
    return 0;
}
BENCH_EXPORT double mb_train_step() {
    g_step = g_trainer->step();
    return g_step.ms;
}
BENCH_EXPORT double mb_train_loss() { return g_step.loss; }
BENCH_EXPORT void mb_train_stop() { g_trainer.reset(); }

BENCH_EXPORT int mb_profile(const char* shape_name, int steps) {
    const TrainShape* shape = find_shape(shape_name);
    if (!shape) {
        g_text = std::string("unknown shape ") + shape_name;
        return -1;
    }
    const ProfileResult r = profile_steps(*shape, 1, steps);
    g_text = r.error.empty() ? profile_json(*shape, 1, r, "attnviz wasm") : r.error;
    return r.error.empty() ? 0 : -1;
}
BENCH_EXPORT void mb_ceiling() { g_text = ceiling_json("attnviz wasm", 1); }
BENCH_EXPORT const char* mb_text() { return g_text.c_str(); }
BENCH_EXPORT const char* mb_simd_name() { return kernels::simd_path_name(); }
#endif
