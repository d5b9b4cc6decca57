// Every option of the engine against the float64 reference (reference.cpp), through both the
// SIMD and the scalar kernels.
#include "helpers.hpp"

namespace {

struct Case {
    const char* name;
    const char* json;  // a config without "kernels"; each case runs with simd and with scalar
};

// Sizes are chosen to exercise the SIMD tails too: d_model 12 or 40 and T = 9 or 37 are not
// multiples of the 8- (AVX2) or 4-float (SIMD128) vectors nor of the register tiles.
const Case kCases[] = {
    {"defaults (sinusoidal, full)", R"({"text":"The cat sat on the mat because it was tired."})"},
    {"positional none", R"({"text":"the quick brown fox jumps","positional":"none"})"},
    {"positional learned", R"({"text":"the quick brown fox jumps","positional":"learned"})"},
    {"positional rope", R"({"text":"the quick brown fox jumps over","positional":"rope","heads":4})"},
    {"positional alibi", R"({"text":"the quick brown fox jumps over the dog","positional":"alibi","heads":4})"},
    {"mask causal", R"({"text":"注意力机制是一种加权机制","mask":"causal"})"},
    {"mask padding", R"({"tokens":["hello","world","[PAD]","[PAD]"],"mask":"padding"})"},
    {"mask padding, custom pad token", R"({"text":"a b <pad> c","mask":"padding","pad_token":"<pad>"})"},
    {"pattern local", R"({"text":"one two three four five six seven eight nine","pattern":{"kind":"local","window":1}})"},
    {"pattern sliding_global", R"({"text":"one two three four five six seven eight nine","pattern":{"kind":"sliding_global","window":1,"global":[0,5]}})"},
    {"pattern bigbird", R"({"text":"one two three four five six seven eight nine","pattern":{"kind":"bigbird","window":1,"global":[0],"random":2}})"},
    {"pattern strided", R"({"text":"one two three four five six seven eight nine","pattern":{"kind":"strided","window":1,"stride":3}})"},
    {"pattern strided + causal", R"({"text":"one two three four five six seven eight nine","mask":"causal","pattern":{"kind":"strided","window":0,"stride":2}})"},
    {"pattern bigbird + padding", R"({"text":"a b c [PAD] d e [PAD]","mask":"padding","pattern":{"kind":"bigbird","window":0,"global":[1],"random":3}})"},
    {"local window 0 + padding: empty rows", R"({"text":"a [PAD] b [PAD]","mask":"padding","pattern":{"kind":"local","window":0}})"},
    {"linformer", R"({"text":"one two three four five six seven eight nine","linformer_k":4})"},
    {"linformer + rope", R"({"text":"one two three four five six seven","linformer_k":3,"positional":"rope"})"},
    {"scale inv_sqrt_dmodel", R"({"text":"the quick brown fox","scale":"inv_sqrt_dmodel"})"},
    {"scale number", R"({"text":"the quick brown fox","scale":0.75})"},
    {"temperature 0.25", R"({"text":"the quick brown fox","temperature":0.25})"},
    {"temperature 4", R"({"text":"the quick brown fox","temperature":4})"},
    {"cross-attention", R"({"text":"le chat est noir","source_text":"the cat is black today"})"},
    {"cross-attention causal + padding source", R"({"text":"a b c d e","source_tokens":["x","[PAD]","y"],"mask":"padding","positional":"learned"})"},
    {"cross-attention, alibi", R"({"text":"a b c","source_text":"p q r s t u","positional":"alibi"})"},
    {"seed_module", R"({"text":"注意力机制是一种加权机制","variant":"seed_module"})"},
    {"seed_module causal, learned", R"({"text":"the quick brown fox jumps","variant":"seed_module","mask":"causal","positional":"learned"})"},
    {"seed_module empty rows are uniform", R"({"text":"a [PAD] b [PAD]","variant":"seed_module","mask":"padding","pattern":{"kind":"local","window":0}})"},
    {"seed_module cross", R"({"text":"a b c","source_text":"x y z w","variant":"seed_module","positional":"none"})"},
    {"odd sizes d12 h3", R"({"text":"one two three four five six seven eight nine","d_model":12,"heads":3,"mask":"causal"})"},
    {"larger d40 h5 T37", R"({"text":"a b c d e f g h i j k l m n o p q r s t u v w x y z 1 2 3 4 5 6 7 8 9 10 11","d_model":40,"heads":5})"},
    {"one head, one token", R"({"text":"solo","heads":1})"},
    {"chars tokenizer", R"({"text":"attention","tokenizer":"chars","d_model":8})"},
};

std::string with_kernels(const std::string& json, const char* kernels) {
    return json.substr(0, json.size() - 1) + ",\"kernels\":\"" + kernels + "\"}";
}

}  // namespace

TEST_CASE("every variant matches the float64 reference, simd and scalar", "[engine][reference]") {
    for (const Case& c : kCases)
        for (const char* kernels : {"simd", "scalar"}) {
            INFO(c.name << " / " << kernels);
            const attnviz::Trace t = test::must_run(with_kernels(c.json, kernels));
            test::check_against_reference(t);
        }
}

TEST_CASE("simd and scalar kernels agree", "[engine][kernels]") {
    for (const Case& c : kCases) {
        INFO(c.name);
        const attnviz::Trace simd = test::must_run(with_kernels(c.json, "simd"));
        const attnviz::Trace scalar = test::must_run(with_kernels(c.json, "scalar"));
        CHECK(simd.stats.kernel_path != "scalar");
        CHECK(scalar.stats.kernel_path == "scalar");
        for (std::size_t h = 0; h < simd.heads.size(); ++h) {
            double w = 0, o = 0, scale = 1e-30;
            for (std::size_t k = 0; k < simd.heads[h].weights.size(); ++k)
                w = std::max(w, double(std::abs(simd.heads[h].weights.data()[k] - scalar.heads[h].weights.data()[k])));
            CHECK(w <= test::kWeightsAbs);
            for (std::size_t k = 0; k < simd.output.size(); ++k) {
                o = std::max(o, double(std::abs(simd.output.data()[k] - scalar.output.data()[k])));
                scale = std::max(scale, double(std::abs(scalar.output.data()[k])));
            }
            CHECK(o / scale <= test::kOutputRel);
        }
    }
}

TEST_CASE("a larger problem through the register-blocked kernels matches the reference", "[engine][kernels]") {
    // T = 131, d = 72: full tiles, column tails and row tails of the matmul, long softmax rows
    std::string text;
    for (int k = 0; k < 131; ++k) text += "w" + std::to_string(k % 50) + " ";
    for (const char* kernels : {"simd", "scalar"}) {
        INFO(kernels);
        const attnviz::Trace t = test::must_run(std::string(R"({"text":")") + text +
                                                R"(","d_model":72,"heads":6,"mask":"causal","kernels":")" + kernels + "\"}");
        test::check_against_reference(t);
    }
}

TEST_CASE("the kernel path is named after the build", "[engine][kernels]") {
    CHECK(std::string(attnviz::kernel_path_name(attnviz::Kernels::scalar)) == "scalar");
#if defined(__wasm_simd128__)
    CHECK(std::string(attnviz::kernel_path_name(attnviz::Kernels::simd)) == "wasm-simd128");
#elif defined(__AVX2__)
    CHECK(std::string(attnviz::kernel_path_name(attnviz::Kernels::simd)) == "avx2");
#endif
}
