// corpus.hpp — the training text of attnviz's own model, its vocabulary and its baselines.
//
// Index
//   1. CorpusOptions / Document / Corpus   what is read, and how it is split
//   2. load_fortunes                        Debian's fortune files -> clean documents
//   3. Vocabulary and token stream          code points -> ids, as the model sees them
//   4. Baselines                            unigram and interpolated bigram, nats per character
//   5. Statistics                           documents, bytes, characters, unknowns (model card)
//
// Text flows: fortune files (one document per `%`-separated entry) -> clean documents (no
// escape sequences, no separators, valid UTF-8) -> a fixed train/validation split per language
// -> vocabulary from the training documents -> token streams "<|bos|> doc <|bos|> doc …".
// Native only: the page never reads the corpus, it gets the trained weights.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "attnviz/expected.hpp"
#include "attnviz/model.hpp"

namespace attnviz::train {

//-----------------------------------------------------------------------------
// 1. CorpusOptions / Document / Corpus
//-----------------------------------------------------------------------------
struct CorpusOptions {
    std::string fortunes_dir = "/usr/share/games/fortunes";  // where Debian's fortunes and fortunes-zh install
    // English categories of the `fortunes` package fit for a classroom (never ethnic, men-women,
    // drugs, politics, nor anything under off/).
    std::vector<std::string> english = {"literature", "wisdom", "science", "education", "kids",
                                        "songs-poems", "people", "pets", "food", "art", "riddles",
                                        "tao", "platitudes", "humorists", "computers"};
    // `fortunes-zh`: Chinese sayings, verse and Debian Reference excerpts; 300 Tang poems; 100 Song lyrics.
    std::vector<std::string> chinese = {"chinese", "tang300", "song100"};
    // About one document in val_every goes to validation: those whose seeded hash of the text
    // is divisible by val_every (see load_fortunes).
    int val_every = 10;
    std::uint64_t seed = 1;  // the split's and the order's seed
};

struct Document {
    std::string text;    // UTF-8, lines joined by '\n', no leading/trailing blank line, no final '\n'
    std::string source;  // the fortune file's name, e.g. "tang300"
};

struct Corpus {
    std::vector<Document> en_train, en_val;  // English, from CorpusOptions::english
    std::vector<Document> zh_train, zh_val;  // Chinese, from CorpusOptions::chinese
};

//-----------------------------------------------------------------------------
// 2. load_fortunes
//-----------------------------------------------------------------------------
// Reads every file named in `options` (in that order) and returns the split documents.
//
// Each file must be valid UTF-8 ("fortunes: <path>: invalid UTF-8 at byte N" otherwise); a
// missing file is "fortunes: <path> not found (apt-get install fortunes)" (fortunes-zh for the
// Chinese ones). Each line is cleaned, in this order:
//   - a CR before the LF is dropped (CRLF -> LF);
//   - ANSI escape sequences are removed: CSI "ESC [ params intermediates final" whole, and
//     any other ESC on its own (fortunes-zh colours its titles with them), and colour
//     sequences typed in caret notation, "^[[32m" (three lines of fortunes-zh);
//   - backspace overstriking (nroff's underline "____\b\b\b\bword", accents "'\be") is
//     resolved as printed: a backspace erases the character before it, the next one stays;
//   - the other control characters (BEL, a lone CR, …) are dropped; TAB is kept;
//   - trailing spaces and tabs are dropped.
// A cleaned line that is exactly "%" ends a document. Leading whitespace and blank lines inside
// a document stay (poems and quotes are laid out with them); a document's leading and trailing
// blank lines go, and a document left empty is dropped.
//
// The split, per language: key = random::bits(seed, hash_bytes(text), 0, 0); a document goes to
// validation iff key % val_every == 0. The split depends only on the text and the seed, so
// adding or removing a category never moves another document between train and validation,
// and a text that appears twice can only land on one side. Exact repeats within a language are
// kept once (the first, in file order). Each split is ordered by key (a seeded shuffle, so the
// tail of the training stream is a fair held-out sample, and categories are interleaved).
// The same files and options give the same bytes on every run.
Expected<Corpus> load_fortunes(const CorpusOptions& options);

// One file's bytes -> its documents in file order, cleaned as above, each with `source` as its
// source (exposed for tests). The only error is "invalid UTF-8 at byte N"; load_fortunes
// prefixes it with "fortunes: <path>: ".
Expected<std::vector<Document>> parse_fortune_file(std::string_view bytes, const std::string& source);

//-----------------------------------------------------------------------------
// 3. Vocabulary and token stream
//-----------------------------------------------------------------------------
inline constexpr const char* kUnkToken = "<|unk|>";  // id 0: a character outside the vocabulary
inline constexpr const char* kBosToken = "<|bos|>";  // id 1: starts every document

// Token 0 "<|unk|>", token 1 "<|bos|>", then every Unicode code point (its UTF-8 bytes) seen at
// least min_count times in the documents of `train_sets`, in code point order. '\n' and '\t'
// are tokens like any other character.
Vocabulary build_vocabulary(const std::vector<const std::vector<Document>*>& train_sets, int min_count);

// The ids the model trains on: for each document, vocab.bos then one id per code point
// (vocab.unk when the character is outside the vocabulary), all documents concatenated.
// Precondition: vocab.bos and vocab.unk are set (build_vocabulary sets them).
std::vector<int> token_stream(const std::vector<Document>& documents, const Vocabulary& vocab);  // (N)

//-----------------------------------------------------------------------------
// 4. Baselines (nats per character)
//-----------------------------------------------------------------------------
// What the model's validation loss is compared with. A stream x (N) gives N-1 predictions:
// x[t] from what precedes it, t = 1..N-1, exactly the targets a model trained on the stream
// predicts. The first token is never predicted; every later bos is (predicting it is predicting
// "the document ends here"), as is every unk. Ids are in [0, V). A validation stream with fewer
// than two tokens has no prediction: the loss is NaN.

// Add-one smoothed unigram: P(v) = (c(v) + 1) / (n + V), with c counted over the training
// stream's targets train[1..], n = train.size() - 1.
double unigram_loss(const std::vector<int>& train, const std::vector<int>& val, int V);

// Interpolated bigram (Jelinek–Mercer): P(b | a) = λ·c(a,b)/c(a) + (1-λ)·P_unigram(b), with
// counts over the training stream's pairs (train[t-1], train[t]); when a was never followed by
// anything (c(a) = 0), P(b | a) = P_unigram(b).
double bigram_loss(const std::vector<int>& train, const std::vector<int>& val, int V, double lambda);

// λ by held-out estimation (the idea of deleted interpolation): the counts are fitted on the
// training stream without its tail (the last ⌊N/10⌋ tokens), and λ maximizes the log-likelihood
// of the tail's predictions t = N - ⌊N/10⌋ .. N-1. That log-likelihood is concave in λ, so λ is
// found by bisection on the sign of its derivative over [0, 1], to double precision. Validation
// is never looked at. Returns 0 when the tail has no prediction with c(a) > 0.
double bigram_lambda(const std::vector<int>& train, int V);

// bigram_loss with λ = bigram_lambda(train, V), the baseline the model card quotes.
double bigram_loss(const std::vector<int>& train, const std::vector<int>& val, int V);

//-----------------------------------------------------------------------------
// 5. Statistics
//-----------------------------------------------------------------------------
struct SplitStats {
    std::size_t documents  = 0;  // documents in the split
    std::size_t bytes      = 0;  // UTF-8 bytes of their text (no separators, no bos)
    std::size_t characters = 0;  // Unicode code points of their text
    std::size_t unknown    = 0;  // code points outside the vocabulary (become unk)
};

struct CorpusStats {
    SplitStats en_train, en_val, zh_train, zh_val;
};

SplitStats  split_stats(const std::vector<Document>& documents, const Vocabulary& vocab);
CorpusStats corpus_stats(const Corpus& corpus, const Vocabulary& vocab);

}  // namespace attnviz::train
