// attnviz-train — trains attnviz's own character-level GPT on Debian's fortunes (English) and
// fortunes-zh (Chinese), natively on every core, and writes the weights (safetensors) and the
// model card (JSON). `cmake/dev.sh train` runs it with the shipped model's settings; the same
// build and settings give the same weights, byte for byte.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "attnviz/model.hpp"
#include "attnviz/model_trace.hpp"
#include "attnviz/train.hpp"
#include "cli.hpp"
#include "corpus.hpp"

namespace {

using namespace attnviz;
using train::clock_text;
using train::die;
using train::read_file;
using train::write_file;

constexpr const char* kUsage =
    "usage: attnviz-train [options]\n"
    "  Trains the character-level GPT on the fortunes corpus and writes OUT.safetensors (float16)\n"
    "  and OUT.card.json.\n"
    "  --out PATH          output path without extension (default web/models/attnviz_char)\n"
    "  --fortunes DIR      where the fortune files are (default /usr/share/games/fortunes)\n"
    "  --max-iters N       optimizer steps (default 6000)\n"
    "  --batch N           sequences per step at the full context (default 4)\n"
    "  --context N         tokens per sequence and the model's block_size (default 512)\n"
    "  --positions P       rope (default), alibi, or learned (a transformer.wpe.weight table)\n"
    "  --layers N --heads N --embd N   the model's shape (default 4, 4, 128)\n"
    "  --min-count N       a character joins the vocabulary if seen N times in training (default 3)\n"
    "  --repeat-share X    share of sequences that repeat a passage (default 0.125)\n"
    "  --context-start N   context warm-up: train the first steps on windows of N tokens, doubling\n"
    "                      up to --context in equal shares of them, as many tokens per step\n"
    "                      (default 64; 0 = off)\n"
    "  --context-share X   the share of the steps the warm-up takes (default 0.8)\n"
    "  --lr X              peak learning rate (default 5e-3; the cosine ends at a tenth of it)\n"
    "  --weight-decay X    AdamW's decoupled weight decay on matrices (default 0.1)\n"
    "  --seed N            the model's and the batches' seed (default 1337)\n"
    "  --threads N         threads (default: every core); the weights do not depend on it\n"
    "  --eval-every N      validation loss every N steps (default 250)\n"
    "  --card-only         do not train: read OUT.safetensors and write its card again (keeping\n"
    "                      the training time and curve of an existing OUT.card.json)\n";

struct Options {
    std::string out = "web/models/attnviz_char";
    train::CorpusOptions corpus;
    ModelConfig model;
    TrainConfig train;
    int min_count = 3;
    int eval_every = 250;
    bool card_only = false;
};

Options parse(int argc, char** argv) {
    Options o;
    o.model.block_size = 512;
    o.train.block_size = 512;
    o.model.positions = Positions::rope;
    o.train.batch_size = 4;
    o.train.max_iters = 6000;
    o.train.lr_decay_iters = 6000;
    o.train.context_start = 64;
    o.train.context_share = 0.8f;
    o.train.warmup_iters = 100;
    o.train.learning_rate = 5e-3f;
    o.train.min_lr = 5e-4f;
    o.train.beta2 = 0.99f;
    o.train.repeat_share = 0.125f;
    o.train.threads = std::max(1u, std::thread::hardware_concurrency());
    for (int k = 1; k < argc; ++k) {
        const std::string arg = argv[k];
        const auto value = [&]() -> std::string {
            if (k + 1 >= argc) die(arg + ": expected a value (see --help)");
            return argv[++k];
        };
        const auto integer = [&]() { return static_cast<int>(train::integer_value(arg, value())); };
        const auto number = [&]() { return static_cast<float>(train::number_value(arg, value())); };
        if (arg == "--help" || arg == "-h") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        } else if (arg == "--out") o.out = value();
        else if (arg == "--fortunes") o.corpus.fortunes_dir = value();
        else if (arg == "--max-iters") o.train.max_iters = o.train.lr_decay_iters = integer();
        else if (arg == "--batch") o.train.batch_size = integer();
        else if (arg == "--context") o.train.block_size = o.model.block_size = integer();
        else if (arg == "--layers") o.model.n_layer = integer();
        else if (arg == "--heads") o.model.n_head = integer();
        else if (arg == "--embd") o.model.n_embd = integer();
        else if (arg == "--min-count") o.min_count = integer();
        else if (arg == "--repeat-share") o.train.repeat_share = number();
        else if (arg == "--lr") { o.train.learning_rate = number(); o.train.min_lr = o.train.learning_rate / 10; }
        else if (arg == "--weight-decay") o.train.weight_decay = number();
        else if (arg == "--positions") {
            const std::string v = value();
            if (v == "rope") o.model.positions = Positions::rope;
            else if (v == "alibi") o.model.positions = Positions::alibi;
            else if (v == "learned") o.model.positions = Positions::learned;
            else die("--positions: expected rope, alibi or learned, got " + v);
        } else if (arg == "--context-start") o.train.context_start = integer();
        else if (arg == "--context-share") o.train.context_share = number();
        else if (arg == "--seed") o.train.seed = static_cast<std::uint64_t>(integer());
        else if (arg == "--threads") o.train.threads = integer();
        else if (arg == "--eval-every") o.eval_every = integer();
        else if (arg == "--card-only") o.card_only = true;
        else die("unknown option " + arg + " (see --help)");
    }
    o.train.warmup_iters = std::min(o.train.warmup_iters, o.train.max_iters);
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    train::program() = "attnviz-train";
    const Options opt = parse(argc, argv);
    const auto t_start = std::chrono::steady_clock::now();
    const auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count(); };

    Expected<train::Corpus> corpus = train::load_fortunes(opt.corpus);
    if (!corpus) die(corpus.error());
    const train::Corpus& cp = corpus.value();
    const Vocabulary vocab = train::build_vocabulary({&cp.en_train, &cp.zh_train}, opt.min_count);
    const std::vector<int> en_train = train::token_stream(cp.en_train, vocab), en_val = train::token_stream(cp.en_val, vocab);
    const std::vector<int> zh_train = train::token_stream(cp.zh_train, vocab), zh_val = train::token_stream(cp.zh_val, vocab);
    std::vector<int> stream = en_train;
    stream.insert(stream.end(), zh_train.begin(), zh_train.end());
    std::fprintf(stderr, "corpus: English %zu train / %zu validation tokens, Chinese %zu / %zu; vocabulary %zu\n", en_train.size(),
                 en_val.size(), zh_train.size(), zh_val.size(), vocab.tokens.size());

    ModelConfig mc = opt.model;
    mc.vocab_size = static_cast<int>(vocab.tokens.size());
    Model model;
    double train_seconds = 0;
    nlohmann::json curve = nlohmann::json::array();
    if (opt.card_only) {
        Expected<Model> loaded = load_model(read_file(opt.out + ".safetensors"));
        if (!loaded) die(loaded.error());
        model = std::move(loaded.value());
    } else {
        Expected<Model> fresh = init_model(mc, vocab, opt.train.seed);
        if (!fresh) die(fresh.error());
        Expected<Trainer> started = Trainer::start(std::move(fresh.value()), opt.train, stream);
        if (!started) die(started.error());
        Trainer& trainer = started.value();
        std::fprintf(stderr, "model: %zu parameters, %d layers, %d heads, d_model %d, context %d; %d steps of %d x %d tokens on %d threads\n",
                     parameter_count(mc), mc.n_layer, mc.n_head, mc.n_embd, mc.block_size, opt.train.max_iters,
                     opt.train.batch_size, opt.train.block_size, opt.train.threads);
        const auto t_train = std::chrono::steady_clock::now();
        long long tokens_seen = 0;
        double window_ms = 0, window_flops = 0;
        long long window_tokens = 0;
        for (int it = 0; it < opt.train.max_iters; ++it) {
            const StepStats st = trainer.step();
            window_ms += st.ms;
            window_tokens += static_cast<long long>(st.rows) * st.T;
            window_flops += static_cast<double>(st.rows) * st.T * training_flops_per_token(mc, st.T);
            tokens_seen = st.tokens;
            const bool last = it + 1 == opt.train.max_iters;
            if (st.step % 10 == 0 || st.step == 1 || last) {
                const double so_far = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_train).count();
                const double tps = window_tokens / (window_ms / 1000.0);
                std::fprintf(stderr, "step %5d/%d  T %3d  loss %.4f  lr %.2e  |g| %.3f  %.0f tokens/s  %.1f GFLOP/s  elapsed %s  left %s\n",
                             st.step, opt.train.max_iters, st.T, st.loss, st.lr, st.grad_norm, tps, window_flops / (window_ms / 1000.0) / 1e9,
                             clock_text(so_far).c_str(), clock_text(so_far / st.step * (opt.train.max_iters - st.step)).c_str());
                window_ms = 0;
                window_tokens = 0;
                window_flops = 0;
            }
            nlohmann::json point = {{"step", st.step}, {"loss", st.loss}};
            if (st.step % opt.eval_every == 0 || last) {
                point["en_val"] = trainer.evaluate(en_val, 64);
                point["zh_val"] = trainer.evaluate(zh_val, 64);
                std::fprintf(stderr, "step %5d  validation (64 windows): English %.4f  Chinese %.4f\n", st.step,
                             point["en_val"].get<double>(), point["zh_val"].get<double>());
            }
            if (st.step % 10 == 0 || point.contains("en_val")) curve.push_back(point);
        }
        train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_train).count();
        model = trainer.model();
        model.metadata["training"] = nlohmann::json{{"corpus", "Debian fortunes (classroom categories) + fortunes-zh"},
                                                    {"max_iters", opt.train.max_iters},
                                                    {"batch_size", opt.train.batch_size},
                                                    {"block_size", opt.train.block_size},
                                                    {"learning_rate", opt.train.learning_rate},
                                                    {"min_lr", opt.train.min_lr},
                                                    {"warmup_iters", opt.train.warmup_iters},
                                                    {"weight_decay", opt.train.weight_decay},
                                                    {"beta1", opt.train.beta1},
                                                    {"beta2", opt.train.beta2},
                                                    {"grad_clip", opt.train.grad_clip},
                                                    {"repeat_share", opt.train.repeat_share},
                                                    {"seed", opt.train.seed},
                                                    {"min_count", opt.min_count},
                                                    {"context_start", opt.train.context_start},
                                                    {"context_share", opt.train.context_share},
                                                    {"tokens_seen", tokens_seen}}
                                         .dump();
        // float16 on disk: half the bytes (the page fetches them), and the card below measures
        // the model as shipped, read back from the file
        write_file(opt.out + ".safetensors", save_model(model, FileDtype::f16));
        std::fprintf(stderr, "wrote %s.safetensors (%s of training)\n", opt.out.c_str(), clock_text(train_seconds).c_str());
        Expected<Model> shipped = load_model(read_file(opt.out + ".safetensors"));
        if (!shipped) die(shipped.error());
        model = std::move(shipped.value());
    }

    // The model card: losses beside the baselines, per language, on the whole validation split.
    TrainConfig eval_config = opt.train;
    eval_config.block_size = model.config.block_size;
    Expected<Trainer> evaluator = Trainer::start(model, eval_config, stream);
    if (!evaluator) die(evaluator.error());
    const int V = model.config.vocab_size;
    const auto language = [&](const std::vector<int>& train_ids, const std::vector<int>& val_ids, const train::SplitStats& tr,
                              const train::SplitStats& va) {
        const double val_loss = evaluator.value().evaluate(val_ids), bigram = train::bigram_loss(train_ids, val_ids, V);
        return nlohmann::json{{"train_loss", evaluator.value().evaluate(train_ids, 256)},
                              {"val_loss", val_loss},
                              {"unigram_val_loss", train::unigram_loss(train_ids, val_ids, V)},
                              {"bigram_val_loss", bigram},
                              {"val_below_bigram", 1.0 - val_loss / bigram},
                              {"train", {{"documents", tr.documents}, {"bytes", tr.bytes}, {"characters", tr.characters}, {"unknown", tr.unknown}}},
                              {"val", {{"documents", va.documents}, {"bytes", va.bytes}, {"characters", va.characters}, {"unknown", va.unknown}}}};
    };
    const train::CorpusStats stats = train::corpus_stats(cp, model.vocab);
    nlohmann::json card;
    card["name"] = "attnviz_char";
    const Positions positions = model.config.positions;
    card["architecture"] = std::string("nanoGPT-shaped decoder-only transformer: ") +
                           (positions == Positions::rope
                                ? "RoPE positions (no position table; each head's query and key at position t rotated "
                                  "pair by pair, (2i, 2i+1) by t·10000^(-2i/head_size))"
                            : positions == Positions::alibi
                                ? "ALiBi positions (no position table; head h of H subtracts 2^(-8(h+1)/H)·(i-j) from its "
                                  "scaled scores)"
                                : "learned positions") +
                           ", pre-LayerNorm blocks of causal multi-head self-attention and an MLP (4x, GELU erf form), "
                           "final LayerNorm, lm_head " + (model.config.tied ? "tied to wte" : "its own tensor");
    card["config"] = {{"block_size", model.config.block_size}, {"vocab_size", V}, {"n_layer", model.config.n_layer},
                      {"n_head", model.config.n_head}, {"n_embd", model.config.n_embd}, {"bias", model.config.bias},
                      {"tied", model.config.tied}, {"positions", positions_name(positions)}};
    card["parameters"] = parameter_count(model.config);
    card["file"] = {{"dtype", "F16"}, {"bytes", read_file(opt.out + ".safetensors").size()}};
    card["losses_in"] = "nats per character (per token: one token per code point), on every token after a window's first, "
                        "including each document's closing <|bos|>";
    if (model.metadata.count("training")) card["training"] = nlohmann::json::parse(model.metadata.at("training"));
    if (!opt.card_only) {
        card["training_seconds"] = train_seconds;
        card["training_threads"] = opt.train.threads;
        card["curve"] = curve;
    } else if (std::ifstream previous(opt.out + ".card.json"); previous) {
        // the run's own record (its time, its curve) stays: a card written again keeps it
        const nlohmann::json old = nlohmann::json::parse(previous, nullptr, false);
        for (const char* key : {"training_seconds", "training_threads", "curve"})
            if (old.is_object() && old.contains(key)) card[key] = old[key];
    }
    card["corpus"] = {{"english_categories", opt.corpus.english},
                      {"chinese_files", opt.corpus.chinese},
                      {"licence", "fortunes: Debian package fortunes-min/fortunes (BSD-4-Clause and public-domain quotations); "
                                  "fortunes-zh: GPL-2+ (see /usr/share/doc/fortunes-zh/copyright)"},
                      {"split", "one document in 10 by a seeded hash of its text goes to validation"}};
    card["english"] = language(en_train, en_val, stats.en_train, stats.en_val);
    card["chinese"] = language(zh_train, zh_val, stats.zh_train, stats.zh_val);
    card["head_roles"] = nlohmann::json::parse(head_roles_json(model));
    write_file(opt.out + ".card.json", card.dump(2) + "\n");
    std::fprintf(stderr, "wrote %s.card.json; English validation %.4f (bigram %.4f), Chinese %.4f (bigram %.4f); total %s\n",
                 opt.out.c_str(), card["english"]["val_loss"].get<double>(), card["english"]["bigram_val_loss"].get<double>(),
                 card["chinese"]["val_loss"].get<double>(), card["chinese"]["bigram_val_loss"].get<double>(), clock_text(elapsed()).c_str());
    return 0;
}
