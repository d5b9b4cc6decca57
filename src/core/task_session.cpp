// task_session.cpp — a training run on a task, its snapshots and their history (attnviz/task_session.hpp).
#include "attnviz/task_session.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "attnviz/config.hpp"
#include "attnviz/json.hpp"
#include "gpt.hpp"
#include "internal.hpp"
#include "json_writer.hpp"
#include "kernels.hpp"

namespace attnviz {

using detail::field_error;
using detail::range_error;

//-----------------------------------------------------------------------------
// 1. SessionSettings
//-----------------------------------------------------------------------------
namespace {

constexpr int kEvaluationRows = 64;  // evaluate_task's examples per forward pass (tasks.cpp)

// Each task's defaults (the rest as SessionSettings has them): symbols, length, layers, MLP,
// batch, steps.
struct TaskDefaults {
    TaskKind kind;
    int      symbols, length, n_layer;
    bool     mlp;
    int      batch_size, max_steps;
};
constexpr TaskDefaults kDefaults[] = {
    {TaskKind::copy, 16, 16, 2, false, 32, 600},          {TaskKind::reverse, 16, 16, 2, false, 32, 1500},
    {TaskKind::sort, 16, 16, 2, false, 32, 1500},         {TaskKind::previous_token, 16, 32, 1, false, 32, 300},
    {TaskKind::induction, 16, 32, 2, false, 32, 600},     {TaskKind::brackets, 2, 16, 2, true, 32, 800},
    {TaskKind::modular_addition, 23, 32, 1, true, 64, 3000},
};

}  // namespace

SessionSettings default_session(TaskKind kind) {
    SessionSettings s;
    for (const TaskDefaults& d : kDefaults)
        if (d.kind == kind) {
            s.task = {kind, d.symbols, d.length};
            s.n_layer = d.n_layer;
            s.mlp = d.mlp;
            s.batch_size = d.batch_size;
            s.max_steps = d.max_steps;
        }
    return s;
}

ModelConfig session_model_config(const SessionSettings& s) {
    ModelConfig mc;
    mc.block_size = task_context(s.task);
    mc.vocab_size = static_cast<int>(task_vocabulary(s.task).tokens.size());
    mc.n_layer = s.n_layer;
    mc.n_head = s.n_head;
    mc.n_embd = s.n_embd;
    mc.mlp = s.mlp;
    mc.positions = Positions::rope;
    mc.tied = false;
    return mc;
}

std::uint64_t session_bytes(const SessionSettings& s) {
    const ModelConfig mc = session_model_config(s);
    // parameters, gradients, AdamW's m and v, the last good copy; a batch's activations and their
    // gradients, for the training step or the evaluation's 64 rows, whichever is larger (the
    // evaluation needs no gradients: a bound from above) — 64-bit: in wasm a size_t would wrap on
    // the shapes this must refuse
    const std::uint64_t rows = static_cast<std::uint64_t>(std::max(s.batch_size, kEvaluationRows));
    const std::uint64_t params = parameter_count(mc);  // within model_limits: check_model_config runs first
    return sizeof(float) * (5 * params + 2 * gpt::activation_count(mc, static_cast<int>(rows), mc.block_size));
}

namespace {

// A learning rate as people write it: 0.003, 1.
std::string rate_text(float v) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", static_cast<double>(v));
    return text;
}

// Why a session stopped: "diverged at step 31 (training loss 20.7; a uniform guess scores 2.08): …".
std::string diverged_text(const SessionSettings& settings, int step, const char* what, double loss, double uniform) {
    char numbers[96];
    std::snprintf(numbers, sizeof numbers, "%s %.3g; a uniform guess scores %.2f", what, loss, uniform);
    return "diverged at step " + std::to_string(step) + " (" + numbers + "): the learning rate " + rate_text(settings.learning_rate) +
           " is too high for this model; the last good snapshot is kept";
}

std::string mib_text(std::uint64_t bytes) { return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB"; }

}  // namespace

std::string check_session(const SessionSettings& s) {
    if (std::string e = check_task(s.task); !e.empty()) return e;
    namespace lim = session_limits;
    for (std::string e : {range_error("n_layer", s.n_layer, 1, lim::max_layers), range_error("n_head", s.n_head, 1, lim::max_heads),
                          range_error("n_embd", s.n_embd, lim::min_embd, lim::max_embd),
                          range_error("batch_size", s.batch_size, 1, lim::max_batch),
                          range_error("max_steps", s.max_steps, 1, lim::max_steps)})
        if (!e.empty()) return e;
    if (!(std::isfinite(s.learning_rate) && s.learning_rate > 0 && s.learning_rate <= 1))
        return "learning_rate: expected a number above 0 and at most 1";
    if (s.seed > limits::max_seed) return "seed: expected an integer from 0 to " + std::to_string(limits::max_seed) + " (2^53 − 1)";
    if (std::string e = check_model_config(session_model_config(s)); !e.empty()) return e;
    const std::uint64_t need = session_bytes(s);
    if (need > lim::max_bytes)
        return "model: needs " + mib_text(need) + " to train (weights, optimizer state and one batch's activations), more than the " +
               mib_text(lim::max_bytes) + " a run in the page may use; lower batch_size, n_embd or n_layer";
    return "";
}

//-----------------------------------------------------------------------------
// 2. TaskSession
//-----------------------------------------------------------------------------
struct TaskSession::State {
    SessionSettings      settings;
    Trainer              trainer;
    Model                last_good;   // the weights at the last snapshot
    std::vector<Example> validation;  // (128) fixed
    std::vector<int>     probe;       // (T) validation[0]'s inputs
    std::vector<int>     role_probe;  // (R) the standard role probe for this vocabulary
    float                last_loss = 0;
    long long            tokens = 0;
    int                  good_step = 0;     // last_good's step, tokens seen, training loss and validation score
    long long            good_tokens = 0;
    float                good_loss = 0;
    TaskScore            good_score;
    bool                 diverged = false;
    std::string          stop_reason;
};

namespace {

TrainConfig session_train_config(const SessionSettings& s, int T) {
    TrainConfig tc;
    tc.batch_size = s.batch_size;
    tc.block_size = T;
    tc.max_iters = tc.lr_decay_iters = s.max_steps;
    tc.warmup_iters = std::min(20, s.max_steps);
    tc.learning_rate = s.learning_rate;
    tc.min_lr = s.learning_rate / 10;
    tc.weight_decay = 0.01f;
    tc.seed = s.seed;
    return tc;
}

}  // namespace

Expected<TaskSession> TaskSession::start(const SessionSettings& settings) {
    if (std::string e = check_session(settings); !e.empty()) return fail(e);
    const ModelConfig mc = session_model_config(settings);
    Expected<Model> model = init_model(mc, task_vocabulary(settings.task), settings.seed);
    if (!model) return fail(model.error());
    Model copy = model.value();
    Expected<Trainer> trainer = Trainer::start(std::move(model.value()), session_train_config(settings, mc.block_size), {});
    if (!trainer) return fail(trainer.error());
    auto state = std::unique_ptr<State>(new State{settings, std::move(trainer.value()), std::move(copy), {}, {}, {}, 0, 0, 0, 0, 0, {}, false, {}});
    state->validation = validation_set(settings.task, settings.seed, 128);
    state->probe = state->validation.front().inputs;
    state->role_probe = role_probe(state->last_good, mc.block_size / 2);
    state->good_score = evaluate_task(state->last_good, state->validation);
    return TaskSession(std::move(state));
}

StepStats TaskSession::step() {
    State& s = *state_;
    StepStats out;
    if (finished()) return out;
    const int B = s.settings.batch_size, T = task_context(s.settings.task);
    const int index = s.trainer.steps();
    const TaskBatch batch = task_batch(s.settings.task, s.settings.seed, static_cast<std::uint64_t>(index) * B, B);
    Expected<StepStats> stats = s.trainer.step_batch(batch.inputs, batch.targets, B, T);
    if (!stats) throw std::logic_error("TaskSession::step: " + stats.error());  // the session made the batch: never
    out = stats.value();
    s.tokens += static_cast<long long>(B) * T;
    out.tokens = s.tokens;
    // Divergence: a loss that is not finite, or, after the warm-up, three times a uniform guess's.
    const double uniform = std::log(static_cast<double>(s.last_good.config.vocab_size));
    if (!std::isfinite(out.loss) || !std::isfinite(out.grad_norm) ||
        (out.step > 20 && out.loss > 3 * uniform)) {
        s.diverged = true;
        s.stop_reason = diverged_text(s.settings, out.step, "training loss", out.loss, uniform);
    } else {
        s.last_loss = out.loss;
        if (s.trainer.steps() >= s.settings.max_steps) s.stop_reason = "finished: " + std::to_string(s.settings.max_steps) + " steps";
    }
    return out;
}

bool TaskSession::finished() const { return state_->diverged || state_->trainer.steps() >= state_->settings.max_steps; }
bool TaskSession::diverged() const { return state_->diverged; }
const std::string& TaskSession::stop_reason() const { return state_->stop_reason; }
int TaskSession::steps() const { return state_->trainer.steps(); }
int TaskSession::good_step() const { return state_->good_step; }
const Model& TaskSession::model() const { return state_->diverged ? state_->last_good : state_->trainer.model(); }
const SessionSettings& TaskSession::settings() const { return state_->settings; }

std::vector<float> session_attention(const Model& model, const std::vector<int>& ids) {
    const ModelConfig& mc = model.config;
    const int T = static_cast<int>(ids.size()), L = mc.n_layer, H = mc.n_head;
    gpt::RunState run = gpt::make_run_state(mc, 1, T, false);
    std::copy(ids.begin(), ids.end(), run.inputs.begin());
    gpt::gpt_forward(run, model);
    const float* att = run.activations().att;  // (L, B = 1, H, T, T)
    return std::vector<float>(att, att + static_cast<std::size_t>(L) * H * T * T);
}

SessionSnapshot TaskSession::snapshot() {
    State& s = *state_;
    if (!s.diverged) {
        // The weights become the last good ones only if they are: finite (a step's loss, computed
        // before its update, cannot see an update that overflowed), with a validation loss below
        // three times a uniform guess's.
        const Model& now = s.trainer.model();
        const double uniform = std::log(static_cast<double>(now.config.vocab_size));
        const bool finite = kernels::all_finite(now.params.data(), now.params.size());
        const TaskScore score = finite ? evaluate_task(now, s.validation) : TaskScore{};
        if (!finite || !std::isfinite(score.loss) || score.loss > 3 * uniform) {
            s.diverged = true;
            s.stop_reason = diverged_text(s.settings, s.trainer.steps(), "validation loss",
                                          finite ? score.loss : std::numeric_limits<double>::infinity(), uniform);
        } else {
            s.last_good.params = now.params;
            s.good_step = s.trainer.steps();
            s.good_tokens = s.tokens;
            s.good_loss = s.last_loss;
            s.good_score = score;
        }
    }
    const Model& model = this->model();
    SessionSnapshot out;
    out.step = s.good_step;
    out.tokens = s.good_tokens;
    out.train_loss = s.good_loss;
    out.validation = s.good_score;
    out.L = model.config.n_layer;
    out.H = model.config.n_head;
    out.T = static_cast<int>(s.probe.size());
    out.probe = s.probe;
    out.attention = session_attention(model, s.probe);
    const int R = static_cast<int>(s.role_probe.size());
    const std::vector<float> roles = session_attention(model, s.role_probe);
    for (int lh = 0; lh < out.L * out.H; ++lh) {
        Matrix w = Matrix::from_shape({static_cast<std::size_t>(R), static_cast<std::size_t>(R)});
        std::copy_n(roles.begin() + static_cast<std::ptrdiff_t>(lh) * R * R, static_cast<std::size_t>(R) * R, w.begin());
        out.roles.push_back(head_roles(w, s.role_probe));
    }
    return out;
}

TaskSession::TaskSession(std::unique_ptr<State> state) : state_(std::move(state)) {}
TaskSession::TaskSession(TaskSession&&) noexcept = default;
TaskSession& TaskSession::operator=(TaskSession&&) noexcept = default;
TaskSession::~TaskSession() = default;

//-----------------------------------------------------------------------------
// 4. SessionHistory
//-----------------------------------------------------------------------------
void SessionHistory::add_losses(const std::vector<std::pair<int, float>>& losses) {
    losses_.insert(losses_.end(), losses.begin(), losses.end());
}

void SessionHistory::add(SessionSnapshot snapshot) {
    curve_.push_back({snapshot.step, snapshot.train_loss, snapshot.validation, snapshot.roles});
    if (kept_.size() >= max_kept_ && max_kept_ >= 2) {
        // keep the first, then every other one: the newest joins after
        std::vector<SessionSnapshot> thinned;
        for (std::size_t k = 0; k < kept_.size(); k += 2) thinned.push_back(std::move(kept_[k]));
        kept_ = std::move(thinned);
    }
    kept_.push_back(std::move(snapshot));
}

void SessionHistory::clear() {
    losses_.clear();
    curve_.clear();
    kept_.clear();
}

//-----------------------------------------------------------------------------
// 5. JSON
//-----------------------------------------------------------------------------
std::string session_settings_json(const SessionSettings& s) {
    json::Writer out;
    out.begin_object();
    out.key("task"); out.string(task_name(s.task.kind));
    out.key("symbols"); out.integer(s.task.symbols);
    out.key("length"); out.integer(s.task.length);
    out.key("n_layer"); out.integer(s.n_layer);
    out.key("n_head"); out.integer(s.n_head);
    out.key("n_embd"); out.integer(s.n_embd);
    out.key("mlp"); out.boolean(s.mlp);
    out.key("batch_size"); out.integer(s.batch_size);
    out.key("learning_rate"); out.number(s.learning_rate);
    out.key("max_steps"); out.integer(s.max_steps);
    out.key("seed"); out.integer(static_cast<std::int64_t>(s.seed));
    out.end_object();
    return out.take();
}

namespace {

using Json = nlohmann::json;

int read_int(const Json& j, const char* key, int fallback) {
    if (!j.contains(key)) return fallback;
    const Json& v = j[key];
    if (!v.is_number_integer() || v.get<double>() < -1e9 || v.get<double>() > 1e9)
        field_error(key, "expected an integer, got " + v.dump());
    return v.get<int>();
}

}  // namespace

Expected<SessionSettings> read_session_settings(std::string_view text) {
    Expected<Json> parsed = parse_json_strict(text);
    if (!parsed) return fail(parsed.error());
    const Json& j = parsed.value();
    try {
        if (!j.is_object()) field_error("settings", "expected a JSON object");
        static const std::set<std::string> known = {"task",  "symbols",    "length",        "n_layer",   "n_head", "n_embd",
                                                    "mlp",   "batch_size", "learning_rate", "max_steps", "seed"};
        for (auto it = j.begin(); it != j.end(); ++it)
            if (!known.count(it.key())) field_error(it.key(), "unknown setting");
        if (!j.contains("task") || !j["task"].is_string()) field_error("task", "expected a task name such as \"induction\"");
        const std::optional<TaskKind> kind = task_from_name(j["task"].get<std::string>());
        if (!kind)
            field_error("task", "expected copy, reverse, sort, previous_token, induction, brackets or modular_addition, got " +
                                    j["task"].dump());
        SessionSettings s = default_session(*kind);
        s.task.symbols = read_int(j, "symbols", s.task.symbols);
        s.task.length = read_int(j, "length", s.task.length);
        s.n_layer = read_int(j, "n_layer", s.n_layer);
        s.n_head = read_int(j, "n_head", s.n_head);
        s.n_embd = read_int(j, "n_embd", s.n_embd);
        s.batch_size = read_int(j, "batch_size", s.batch_size);
        s.max_steps = read_int(j, "max_steps", s.max_steps);
        if (j.contains("mlp")) {
            if (!j["mlp"].is_boolean()) field_error("mlp", "expected true or false, got " + j["mlp"].dump());
            s.mlp = j["mlp"].get<bool>();
        }
        if (j.contains("learning_rate")) {
            if (!j["learning_rate"].is_number()) field_error("learning_rate", "expected a number, got " + j["learning_rate"].dump());
            s.learning_rate = j["learning_rate"].get<float>();
        }
        if (j.contains("seed")) {
            if (!j["seed"].is_number_unsigned()) field_error("seed", "expected an integer >= 0, got " + j["seed"].dump());
            s.seed = j["seed"].get<std::uint64_t>();
        }
        if (std::string e = check_session(s); !e.empty()) return fail(e);
        return s;
    } catch (const detail::FieldError& e) {
        return fail(e.message);
    }
}

std::string session_snapshot_json(const SessionSnapshot& s) {
    json::Writer out;
    out.begin_object();
    out.key("step"); out.integer(s.step);
    out.key("tokens"); out.integer(s.tokens);
    out.key("train_loss"); out.number(s.train_loss);
    out.key("validation");
    out.begin_object();
    out.key("loss"); out.number(s.validation.loss);
    out.key("accuracy"); out.number(s.validation.accuracy);
    out.key("sequences"); out.number(s.validation.sequences);
    out.key("scored"); out.integer(s.validation.scored);
    out.end_object();
    out.key("L"); out.integer(s.L);
    out.key("H"); out.integer(s.H);
    out.key("T"); out.integer(s.T);
    out.key("probe");
    out.begin_array();
    for (int id : s.probe) out.integer(id);
    out.end_array();
    out.key("roles");
    out.begin_array();
    for (const HeadRoles& r : s.roles) {
        out.begin_array();
        for (double v : {r.previous_token, r.induction, r.first_token, r.self, r.mean_distance}) out.number(v);
        out.end_array();
    }
    out.end_array();
    out.end_object();
    return out.take();
}

Expected<SessionSnapshot> read_session_snapshot(std::string_view text, std::vector<float> attention) {
    Expected<Json> parsed = parse_json_strict(text);
    if (!parsed) return fail(parsed.error());
    const Json& j = parsed.value();
    try {
        if (!j.is_object()) field_error("snapshot", "expected a JSON object");
        const auto number = [](const Json& o, const char* key) {
            if (!o.contains(key) || !o[key].is_number()) field_error(key, "expected a number");
            return o[key].get<double>();
        };
        SessionSnapshot s;
        s.step = read_int(j, "step", -1);
        s.tokens = static_cast<long long>(number(j, "tokens"));
        s.train_loss = static_cast<float>(number(j, "train_loss"));
        if (!j.contains("validation") || !j["validation"].is_object()) field_error("validation", "expected an object");
        const Json& v = j["validation"];
        s.validation.loss = number(v, "loss");
        s.validation.accuracy = number(v, "accuracy");
        s.validation.sequences = number(v, "sequences");
        s.validation.scored = static_cast<long long>(number(v, "scored"));
        s.L = read_int(j, "L", 0);
        s.H = read_int(j, "H", 0);
        s.T = read_int(j, "T", 0);
        if (s.step < 0 || s.L < 1 || s.H < 1 || s.T < 1 || s.L > session_limits::max_layers || s.H > session_limits::max_heads ||
            s.T > model_limits::max_block_size)
            field_error("snapshot", "expected step >= 0 and L, H, T within the session limits");
        if (!j.contains("probe") || !j["probe"].is_array() || j["probe"].size() != static_cast<std::size_t>(s.T))
            field_error("probe", "expected T token ids");
        for (const Json& id : j["probe"]) {
            if (!id.is_number_integer()) field_error("probe", "expected T token ids");
            s.probe.push_back(id.get<int>());
        }
        if (!j.contains("roles") || !j["roles"].is_array() || j["roles"].size() != static_cast<std::size_t>(s.L * s.H))
            field_error("roles", "expected L·H lists of five scores");
        for (const Json& r : j["roles"]) {
            if (!r.is_array() || r.size() != 5 || !std::all_of(r.begin(), r.end(), [](const Json& x) { return x.is_number(); }))
                field_error("roles", "expected L·H lists of five scores");
            s.roles.push_back({r[0].get<double>(), r[2].get<double>(), r[3].get<double>(), r[1].get<double>(), r[4].get<double>()});
        }
        if (attention.size() != static_cast<std::size_t>(s.L) * s.H * s.T * s.T)
            field_error("attention", "expected L·H·T·T = " + std::to_string(static_cast<std::size_t>(s.L) * s.H * s.T * s.T) +
                                         " weights, got " + std::to_string(attention.size()));
        s.attention = std::move(attention);
        return s;
    } catch (const detail::FieldError& e) {
        return fail(e.message);
    }
}

}  // namespace attnviz
