// corpus.cpp — fortune files -> clean documents -> split, vocabulary, token streams, baselines.
#include "corpus.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <unordered_map>

#include "random.hpp"
#include "utf8.hpp"

namespace attnviz::train {
namespace {

//-----------------------------------------------------------------------------
// Cleaning one line
//-----------------------------------------------------------------------------
bool is_utf8_continuation(unsigned char b) { return (b & 0xC0) == 0x80; }

// The length of a colour sequence typed in caret notation at line[i] ("^[[32m": "^[" is how
// cat -v and Vim print ESC; fortunes-zh has three such), or 0. Only the SGR form "^[[" digits
// and ';' "m" counts, so text such as the regex "^[[:alpha:]]" is left alone.
std::size_t caret_sgr_length(std::string_view line, std::size_t i) {
    if (line.compare(i, 3, "^[[") != 0) return 0;
    std::size_t j = i + 3;
    while (j < line.size() && ((line[j] >= '0' && line[j] <= '9') || line[j] == ';')) ++j;
    return j < line.size() && line[j] == 'm' ? j + 1 - i : 0;
}

// Removes the last code point of `out` (its continuation bytes, then its lead byte).
void erase_last_code_point(std::string& out) {
    while (!out.empty() && is_utf8_continuation(static_cast<unsigned char>(out.back()))) out.pop_back();
    if (!out.empty()) out.pop_back();
}

// One raw line (no '\n') -> its printed text: escape sequences and control characters removed,
// backspace overstriking resolved, trailing spaces and tabs dropped. Only ASCII bytes are
// removed and the overstrike erases whole code points, so valid UTF-8 stays valid.
std::string clean_line(std::string_view line) {
    std::string out;
    out.reserve(line.size());
    std::size_t i = 0;
    while (i < line.size()) {
        const unsigned char c = static_cast<unsigned char>(line[i]);
        if (c == 0x1B) {  // ESC
            ++i;
            // CSI (ECMA-48): ESC '[', parameter bytes 0x30–0x3F, intermediate bytes 0x20–0x2F,
            // one final byte 0x40–0x7E. A sequence cut short ends there, as on a terminal:
            // fortunes-zh's three "ESC[;ESC[34;1mm" print an "m", here too.
            if (i < line.size() && line[i] == '[') {
                ++i;
                while (i < line.size() && line[i] >= 0x30 && line[i] <= 0x3F) ++i;
                while (i < line.size() && line[i] >= 0x20 && line[i] <= 0x2F) ++i;
                if (i < line.size() && line[i] >= 0x40 && line[i] <= 0x7E) ++i;
            }
            continue;  // any other ESC goes on its own
        }
        if (const std::size_t n = caret_sgr_length(line, i)) {
            i += n;
            continue;
        }
        if (c == '\b') {
            erase_last_code_point(out);  // "_\bx" prints x over _; "'\be" keeps the e
            ++i;
            continue;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7F) {  // BEL, CR, … print nothing
            ++i;
            continue;
        }
        out.push_back(static_cast<char>(c));
        ++i;
    }
    while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
    return out;
}

// Lines of one entry -> its document text: leading and trailing blank lines dropped, the rest
// joined by '\n'. "" when nothing is left.
std::string join_document(const std::vector<std::string>& lines) {
    std::size_t first = 0, last = lines.size();
    while (first < last && lines[first].empty()) ++first;
    while (last > first && lines[last - 1].empty()) --last;
    std::string text;
    for (std::size_t k = first; k < last; ++k) {
        if (k > first) text.push_back('\n');
        text += lines[k];
    }
    return text;
}

//-----------------------------------------------------------------------------
// Reading and splitting
//-----------------------------------------------------------------------------
Expected<std::string> read_file(const std::string& path, const std::string& package) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        return fail("fortunes: " + path + " not found (apt-get install " + package + ")");
    std::ifstream in(path, std::ios::binary);
    std::ostringstream bytes;
    if (in) bytes << in.rdbuf();
    if (!in || !std::filesystem::is_regular_file(path, ec))
        return fail("fortunes: " + path + " could not be read");
    return bytes.str();
}

// Reads one language's files, drops exact repeats, and splits by the seeded hash of the text.
// Returns "" or the error.
std::string load_language(const CorpusOptions& options, const std::vector<std::string>& names,
                          const std::string& package, std::vector<Document>& train, std::vector<Document>& val) {
    struct Keyed {
        std::uint64_t key;  // random::bits(seed, hash_bytes(text), 0, 0)
        Document      doc;
    };
    std::vector<Keyed> all;
    for (const std::string& name : names) {
        const std::string path = options.fortunes_dir + "/" + name;
        Expected<std::string> bytes = read_file(path, package);
        if (!bytes) return bytes.error();
        Expected<std::vector<Document>> docs = parse_fortune_file(bytes.value(), name);
        if (!docs) return "fortunes: " + path + ": " + docs.error();
        for (Document& doc : docs.value()) {
            const std::uint64_t key = random::bits(options.seed, random::hash_bytes(doc.text), 0, 0);
            all.push_back({key, std::move(doc)});
        }
    }
    // Order by (key, text): a seeded shuffle in which equal texts are neighbours; the stable
    // sort keeps the first file's copy first, and that copy is the one kept.
    std::stable_sort(all.begin(), all.end(), [](const Keyed& a, const Keyed& b) {
        return a.key != b.key ? a.key < b.key : a.doc.text < b.doc.text;
    });
    all.erase(std::unique(all.begin(), all.end(),
                          [](const Keyed& a, const Keyed& b) { return a.doc.text == b.doc.text; }),
              all.end());
    const std::uint64_t every = static_cast<std::uint64_t>(options.val_every);
    for (Keyed& entry : all) (entry.key % every == 0 ? val : train).push_back(std::move(entry.doc));
    return "";
}

//-----------------------------------------------------------------------------
// Code points
//-----------------------------------------------------------------------------
// The UTF-8 bytes of one code point (cp <= U+10FFFF, not a surrogate).
std::string utf8_bytes(char32_t cp) {
    std::string s;
    if (cp < 0x80) {
        s.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        s.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        s.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        s.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
    return s;
}

// Calls f(cp) for each code point of text; an ill-formed byte (never in a loaded document) is
// passed as U+FFFD and skipped alone.
template <class F>
void for_each_code_point(std::string_view text, F&& f) {
    std::size_t i = 0;
    char32_t cp;
    while (i < text.size()) {
        if (utf8::decode(text, i, cp)) {
            f(cp);
        } else {
            f(char32_t{0xFFFD});
            ++i;
        }
    }
}

// Code point -> id for the vocabulary's single-character tokens (the specials are left out).
std::unordered_map<char32_t, int> code_point_ids(const Vocabulary& vocab) {
    std::unordered_map<char32_t, int> ids;
    for (std::size_t id = 0; id < vocab.tokens.size(); ++id) {
        const std::string& token = vocab.tokens[id];
        std::size_t i = 0;
        char32_t cp;
        if (!token.empty() && utf8::decode(token, i, cp) && i == token.size())
            ids.emplace(cp, static_cast<int>(id));
    }
    return ids;
}

//-----------------------------------------------------------------------------
// Counts for the baselines
//-----------------------------------------------------------------------------
// Unigram and bigram counts of the predictions x[t-1] -> x[t], t = 1..n-1, of x[0..n).
struct NgramCounts {
    std::vector<double> unigram;                          // (V) c(b): times b is a target
    std::vector<double> context;                          // (V) c(a): times a precedes a target
    std::unordered_map<std::uint64_t, double> bigram;     // a·V + b -> c(a, b)
    double targets = 0;                                   // n - 1

    NgramCounts(const std::vector<int>& x, std::size_t n, int V) : unigram(V, 0.0), context(V, 0.0) {
        for (std::size_t t = 1; t < n; ++t) {
            assert(x[t - 1] >= 0 && x[t - 1] < V && x[t] >= 0 && x[t] < V && "token id outside [0, V)");
            unigram[x[t]] += 1;
            context[x[t - 1]] += 1;
            bigram[pair_key(x[t - 1], x[t], V)] += 1;
            targets += 1;
        }
    }
    static std::uint64_t pair_key(int a, int b, int V) {
        return static_cast<std::uint64_t>(a) * static_cast<std::uint64_t>(V) + static_cast<std::uint64_t>(b);
    }
    // Add-one smoothed P(b).
    double p_unigram(int b, int V) const { return (unigram[b] + 1.0) / (targets + V); }
    // Maximum-likelihood P(b | a); only meaningful when context[a] > 0.
    double p_bigram_ml(int a, int b, int V) const {
        const auto it = bigram.find(pair_key(a, b, V));
        return it == bigram.end() ? 0.0 : it->second / context[a];
    }
};

double no_prediction() { return std::numeric_limits<double>::quiet_NaN(); }

}  // namespace

//-----------------------------------------------------------------------------
// 2. load_fortunes
//-----------------------------------------------------------------------------
Expected<std::vector<Document>> parse_fortune_file(std::string_view bytes, const std::string& source) {
    if (const auto bad = utf8::first_invalid(bytes))
        return fail("invalid UTF-8 at byte " + std::to_string(*bad));
    std::vector<Document> documents;
    std::vector<std::string> lines;  // cleaned lines of the entry being read
    const auto end_document = [&] {
        std::string text = join_document(lines);
        if (!text.empty()) documents.push_back({std::move(text), source});
        lines.clear();
    };
    std::size_t start = 0;
    while (start < bytes.size()) {
        std::size_t newline = bytes.find('\n', start);
        if (newline == std::string_view::npos) newline = bytes.size();
        std::string line = clean_line(bytes.substr(start, newline - start));  // drops a CRLF's CR too
        if (line == "%")
            end_document();
        else
            lines.push_back(std::move(line));
        start = newline + 1;
    }
    end_document();
    return documents;
}

Expected<Corpus> load_fortunes(const CorpusOptions& options) {
    if (options.val_every < 2)
        return fail("val_every: expected an integer >= 2, got " + std::to_string(options.val_every));
    Corpus corpus;
    if (std::string error = load_language(options, options.english, "fortunes", corpus.en_train, corpus.en_val);
        !error.empty())
        return fail(error);
    if (std::string error = load_language(options, options.chinese, "fortunes-zh", corpus.zh_train, corpus.zh_val);
        !error.empty())
        return fail(error);
    return corpus;
}

//-----------------------------------------------------------------------------
// 3. Vocabulary and token stream
//-----------------------------------------------------------------------------
Vocabulary build_vocabulary(const std::vector<const std::vector<Document>*>& train_sets, int min_count) {
    std::unordered_map<char32_t, long long> counts;
    for (const std::vector<Document>* documents : train_sets)
        for (const Document& doc : *documents)
            for_each_code_point(doc.text, [&](char32_t cp) { ++counts[cp]; });

    std::vector<char32_t> kept;
    for (const auto& [cp, n] : counts)
        if (n >= min_count) kept.push_back(cp);
    std::sort(kept.begin(), kept.end());  // code point order: the same vocabulary every run

    Vocabulary vocab;
    vocab.tokens = {kUnkToken, kBosToken};
    vocab.unk = 0;
    vocab.bos = 1;
    for (char32_t cp : kept) vocab.tokens.push_back(utf8_bytes(cp));
    return vocab;
}

std::vector<int> token_stream(const std::vector<Document>& documents, const Vocabulary& vocab) {
    assert(vocab.bos >= 0 && vocab.unk >= 0 && "token_stream needs bos and unk tokens");
    const std::unordered_map<char32_t, int> ids = code_point_ids(vocab);
    std::vector<int> stream;
    for (const Document& doc : documents) {
        stream.push_back(vocab.bos);
        for_each_code_point(doc.text, [&](char32_t cp) {
            const auto it = ids.find(cp);
            stream.push_back(it == ids.end() ? vocab.unk : it->second);
        });
    }
    return stream;
}

//-----------------------------------------------------------------------------
// 4. Baselines
//-----------------------------------------------------------------------------
double unigram_loss(const std::vector<int>& train, const std::vector<int>& val, int V) {
    if (val.size() < 2) return no_prediction();
    const NgramCounts counts(train, train.size(), V);
    double nll = 0.0;  // -sum log P(val[t])
    for (std::size_t t = 1; t < val.size(); ++t) nll -= std::log(counts.p_unigram(val[t], V));
    return nll / static_cast<double>(val.size() - 1);
}

double bigram_loss(const std::vector<int>& train, const std::vector<int>& val, int V, double lambda) {
    if (val.size() < 2) return no_prediction();
    const NgramCounts counts(train, train.size(), V);
    double nll = 0.0;
    for (std::size_t t = 1; t < val.size(); ++t) {
        const int a = val[t - 1], b = val[t];
        const double p_uni = counts.p_unigram(b, V);
        const double p = counts.context[a] > 0 ? lambda * counts.p_bigram_ml(a, b, V) + (1.0 - lambda) * p_uni
                                               : p_uni;
        nll -= std::log(p);
    }
    return nll / static_cast<double>(val.size() - 1);
}

double bigram_lambda(const std::vector<int>& train, int V) {
    // Fit on train[0..cut), hold out the predictions t = cut..N-1.
    const std::size_t cut = train.size() - train.size() / 10;
    const NgramCounts counts(train, cut, V);

    // Each held-out prediction with a seen context contributes log(λ·p_ml + (1-λ)·p_uni); the
    // others do not depend on λ.
    std::vector<double> p_ml, p_uni;  // (held-out predictions with c(a) > 0)
    for (std::size_t t = cut; t < train.size(); ++t) {
        const int a = train[t - 1], b = train[t];
        if (counts.context[a] == 0) continue;
        p_ml.push_back(counts.p_bigram_ml(a, b, V));
        p_uni.push_back(counts.p_unigram(b, V));
    }
    if (p_ml.empty()) return 0.0;

    // d/dλ sum log(λ·m + (1-λ)·u) = sum (m - u) / (λ·m + (1-λ)·u): decreasing in λ (the
    // log-likelihood is concave), so its zero in [0, 1] is found by bisection; if it keeps one
    // sign, the optimum is the end it points to and bisection converges there.
    const auto slope = [&](double lambda) {
        double d = 0.0;
        for (std::size_t k = 0; k < p_ml.size(); ++k)
            d += (p_ml[k] - p_uni[k]) / (lambda * p_ml[k] + (1.0 - lambda) * p_uni[k]);
        return d;
    };
    double lo = 0.0, hi = 1.0;
    for (;;) {
        const double mid = 0.5 * (lo + hi);
        if (mid <= lo || mid >= hi) break;  // the interval is down to adjacent doubles
        (slope(mid) > 0 ? lo : hi) = mid;
    }
    return 0.5 * (lo + hi);
}

double bigram_loss(const std::vector<int>& train, const std::vector<int>& val, int V) {
    return bigram_loss(train, val, V, bigram_lambda(train, V));
}

//-----------------------------------------------------------------------------
// 5. Statistics
//-----------------------------------------------------------------------------
SplitStats split_stats(const std::vector<Document>& documents, const Vocabulary& vocab) {
    const std::unordered_map<char32_t, int> ids = code_point_ids(vocab);
    SplitStats stats;
    stats.documents = documents.size();
    for (const Document& doc : documents) {
        stats.bytes += doc.text.size();
        for_each_code_point(doc.text, [&](char32_t cp) {
            ++stats.characters;
            if (ids.find(cp) == ids.end()) ++stats.unknown;
        });
    }
    return stats;
}

CorpusStats corpus_stats(const Corpus& corpus, const Vocabulary& vocab) {
    return {split_stats(corpus.en_train, vocab), split_stats(corpus.en_val, vocab),
            split_stats(corpus.zh_train, vocab), split_stats(corpus.zh_val, vocab)};
}

}  // namespace attnviz::train
