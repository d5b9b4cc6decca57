// lessons — the content: eight short lessons on the one-layer lab, then five on the trained model,
// each step an example the core computes live.
//
// Numbers in the text are the example's arithmetic (√64 = 8); every value on screen comes from
// the trace of the step's config.
#include "lessons.hpp"

namespace attnviz::app {

namespace {

constexpr const char* kCat = "the cat sat on the mat";  // the(0) cat(1) sat(2) on(3) the(4) mat(5)
constexpr const char* kLong = "efficient attention lets a model read long documents without paying for every pair of tokens";
constexpr const char* kArticle = "注意力机制是一种加权机制";  // "the attention mechanism is a weighting mechanism"

// The app's defaults with another text: d_model 16, 2 heads, seed 42, sinusoidal positions.
Config example(const char* text) {
    Config c;
    c.text = text;
    return c;
}

LessonStep step(std::string text, Config config, View view, std::string matrix = "weights", std::optional<Cell> pinned = std::nullopt,
                std::string zh = "") {
    LessonStep s;
    s.text = std::move(text);
    s.zh = std::move(zh);
    s.config = std::move(config);
    s.view = view;
    s.matrix = std::move(matrix);
    s.pinned = pinned;
    return s;
}

LessonStep compare_step(std::string text, Config left, Config right, std::string zh = "") {
    LessonStep s = step(std::move(text), std::move(left), View::compare, "weights", std::nullopt, std::move(zh));
    s.compare = std::move(right);
    return s;
}

Lesson dot_products() {
    Config plain = example(kCat);
    plain.positional = Positional::none;
    plain.heads = 1;
    return {"Dot products as similarity", "点积：衡量相似度",
            {
                step("Every token becomes a query vector q_i and a key vector k_j. The raw score of query i for key j is their dot product "
                     "q_i·k_j = Σ_c q_i[c]·k_j[c]: large when the two vectors point the same way, negative when they point apart. "
                     "Row i of the scores matrix compares query i with every key.",
                     plain, View::matrices, "scores", Cell{2, 1}, "点积越大，两个向量越相似。"),
                step("The pinned cell (\"sat\" × \"cat\") is worked out on the right: the element-wise products of q_i and k_j and their "
                     "sum, then the scale, the softmax and the weight. Click any other cell to pin it.",
                     plain, View::matrices, "scores", Cell{2, 1}),
                step("No positional encoding here, so the two \"the\" tokens have the same vector: rows 0 and 4 of the scores are "
                     "identical, and so are columns 0 and 4. Attention alone does not know word order.",
                     plain, View::matrices, "scores", Cell{0, 4}),
            }};
}

Lesson scaling() {
    Config wide = example(kCat);
    wide.d_model = 64;
    wide.heads = 1;
    Config unscaled = wide;
    unscaled.scale.kind = ScaleKind::number;
    unscaled.scale.value = 1.0;
    return {"Why divide by √d_k", "为什么要除以 √d_k",
            {
                step("Here d_k = 64 and the scores are NOT scaled (scale = 1). A dot product of 64 products of unit-variance numbers "
                     "has a spread of about √64 = 8, so the softmax saturates: almost all the weight lands on one key per row.",
                     unscaled, View::matrices, "weights", Cell{2, 1}),
                step("The same text and weights, scaled by 1/√d_k = 1/8: the scaled scores spread about 1, and the weights spread over "
                     "several keys. Gradients through a saturated softmax vanish; this is why the paper scales.",
                     wide, View::matrices, "weights", Cell{2, 1}, "缩放让 softmax 不至于饱和。"),
                compare_step("Side by side: left scaled by 1/√d_k, right unscaled. The difference heatmap shows where the unscaled "
                             "weights took mass from the other keys.",
                             wide, unscaled),
            }};
}

Lesson softmax_temperature() {
    Config base = example(kCat);
    Config sharp = base;
    sharp.temperature = 0.25;
    Config flat = base;
    flat.temperature = 4.0;
    return {"Softmax and temperature", "softmax 与温度",
            {
                step("The scaled scores can be any real numbers. Softmax turns each row into weights: exp(s_ij − max) / Σ_j exp(s_ij − max). "
                     "Subtracting the row's max changes nothing but keeps exp from overflowing.",
                     base, View::matrices, "scaled", Cell{1, 2}),
                step("The weights: every one positive, each row summing to 1 — a probability distribution over the keys.", base,
                     View::matrices, "weights", Cell{1, 2}, "softmax 把分数变成和为 1 的权重。"),
                step("Temperature 0.25 divides the scaled scores by 0.25, stretching their differences: the weights get sharper, "
                     "towards one-hot.",
                     sharp, View::matrices, "weights", Cell{1, 2}),
                step("Temperature 4 shrinks the differences: the weights get flatter, towards uniform (1/6 for six keys).", flat,
                     View::matrices, "weights", Cell{1, 2}),
            }};
}

Lesson masks() {
    Config causal = example(kCat);
    causal.mask = MaskKind::causal;
    Config padded = example("the cat sat [PAD] [PAD]");
    padded.mask = MaskKind::padding;
    Config padded_none = padded;
    padded_none.mask = MaskKind::none;
    return {"Masks: causal and padding", "掩码：因果掩码与填充掩码",
            {
                step("A causal mask lets query i see only keys j ≤ i: the upper triangle is masked (grey, hatched) and its weight is "
                     "exactly 0. Each row still sums to 1 over the keys it may see. A decoder generates text this way, left to right.",
                     causal, View::matrices, "weights", Cell{1, 1}, "因果掩码：每个词只能看到它前面的词。"),
                step("The pinned cell is masked: its scaled score is −∞ before the softmax, so exp(−∞) = 0. The mask matrix itself: "
                     "allowed cells in colour, masked ones grey.",
                     causal, View::matrices, "mask", Cell{1, 3}),
                step("Batches pad short sentences with [PAD] tokens. A padding mask hides those keys from every query: their columns "
                     "are grey, and the real tokens share all the weight.",
                     padded, View::matrices, "weights", Cell{0, 3}),
                compare_step("Left without the padding mask, right with it: without it the real tokens waste weight on [PAD].",
                             padded_none, padded),
            }};
}

Lesson multi_head() {
    Config four = example(kCat);
    four.heads = 4;
    return {"Multi-head attention", "多头注意力",
            {
                step("With H heads, d_model is split into H slices of d_k = d_model / H; each head has its own Q, K and V and its own "
                     "weights. Here 4 heads of d_k = 4 look at the same sentence differently. Click a head to select it.",
                     four, View::heads, "weights", std::nullopt, "每个头在自己的子空间里计算注意力。"),
                step("The lines view draws every head at once, one colour per head, opacity = weight. Hover a token to isolate its lines; "
                     "switch heads on and off with the coloured boxes.",
                     four, View::lines),
                step("Each head's output (T × d_k) goes side by side into concat (T × d_model); the output projection W_o then mixes "
                     "the heads.",
                     four, View::matrices, "concat"),
            }};
}

Lesson positions() {
    Config repeated = example("the cat saw the cat");
    Config sinusoidal = repeated;
    Config learned = repeated;
    learned.positional = Positional::learned;
    Config rope = repeated;
    rope.positional = Positional::rope;
    Config alibi = repeated;
    alibi.positional = Positional::alibi;
    alibi.heads = 4;
    return {"Positional encodings", "位置编码",
            {
                step("Attention by itself ignores order. Sinusoidal encodings add PE[p, 2i] = sin(p / 10000^(2i/d)) and "
                     "PE[p, 2i+1] = cos(p / 10000^(2i/d)) to token p's vector: a unique pattern of waves per position.",
                     sinusoidal, View::matrices, "positional", std::nullopt, "位置编码告诉模型词的顺序。"),
                step("With positions added, the two \"the\" (0, 3) and the two \"cat\" (1, 4) are no longer identical: compare their "
                     "rows of the scores.",
                     sinusoidal, View::matrices, "scores", Cell{0, 1}),
                step("Learned positions: one trained vector per position (here seeded random values, std 0.2), added the same way. "
                     "A learned table cannot go beyond the longest position it was trained on.",
                     learned, View::matrices, "positional"),
                step("RoPE adds nothing: it rotates each pair of coordinates of q and k by an angle proportional to the position, "
                     "so q_i·k_j depends on the offset i − j. Compare Q before (Q_unrotated) and after rotation.",
                     rope, View::matrices, "Q"),
                step("ALiBi adds nothing to the vectors either: head h subtracts m_h·|i − j| from the scores, each head with its own "
                     "slope m_h (in the tile titles). Steep heads look near the diagonal, gentle heads further away.",
                     alibi, View::heads),
            }};
}

Lesson efficient() {
    Config full = example(kLong);
    Config local = full;
    local.pattern.kind = PatternKind::local;
    local.pattern.window = 2;
    Config longformer = local;
    longformer.pattern.kind = PatternKind::sliding_global;
    longformer.pattern.global = {0};
    Config bigbird = longformer;
    bigbird.pattern.kind = PatternKind::bigbird;
    bigbird.pattern.random = 2;
    Config strided = local;
    strided.pattern.kind = PatternKind::strided;
    strided.pattern.window = 1;
    strided.pattern.stride = 4;
    Config linformer = full;
    linformer.linformer_k = 4;
    return {"Efficient attention and its cost", "高效注意力及其代价",
            {
                step("Full attention scores all T² pairs: cost and memory grow with the square of the length. Local attention keeps "
                     "a band |i − j| ≤ w (here w = 2): about T·(2w+1) pairs.",
                     local, View::matrices, "mask", std::nullopt, "稀疏注意力只计算一部分词对。"),
                step("Longformer adds global tokens (here token 0) that see, and are seen by, every token: a row and a column of "
                     "full attention on top of the band.",
                     longformer, View::matrices, "mask"),
                step("BigBird adds a few random keys per query (here 2) to Longformer's band and global tokens.", bigbird,
                     View::matrices, "mask"),
                step("Sparse Transformer (strided): a short band plus every s-th key back (here s = 4).", strided, View::matrices,
                     "mask"),
                compare_step("Full (left) against local w = 2 (right): \"pairs allowed\" is the work a sparse kernel does. "
                             "This engine scores every pair and then masks, so its FLOPs stay the same.",
                             full, local),
                compare_step("Linformer projects the keys and values along the sequence to k rows (here k = 4): the weights become "
                             "T × k, the FLOPs of Q·Kᵀ and weights·V drop from T² to T·k terms, and no cell-by-cell difference exists.",
                             full, linformer),
            }};
}

Lesson article_module() {
    Config paper = example(kArticle);
    paper.d_model = 16;
    paper.heads = 2;
    Config module = paper;
    module.variant = Variant::seed_module;
    module.scale.kind = ScaleKind::inv_sqrt_dmodel;
    Config module_dk = module;
    module_dk.scale.kind = ScaleKind::inv_sqrt_dk;
    return {"The article's module and its two departures", "原文模块与论文的两处不同",
            {
                step("The source article's sentence, one token per character. The article's PyTorch SelfAttention defines Linear "
                     "layers for Q, K and V, but its forward never applies them: Q = K = V = the head slices of the input. "
                     "So each token's query equals its key, and the diagonal of the scores is large.",
                     module, View::matrices, "scores", Cell{0, 0}, "注意力机制是一种加权机制。"),
                step("Second departure: it divides the scores by √d_model = 4 instead of √d_k = √8 ≈ 2.83. The lesson panel shows "
                     "the factor the trace applied.",
                     module, View::matrices, "scaled", Cell{1, 0}),
                compare_step("The article's module (left) against the paper's attention (right, projections applied, 1/√d_k) on the "
                             "same sentence: the weights and the outputs differ everywhere.",
                             module, paper, "原文模块没有使用 Q、K、V 的线性变换。"),
                compare_step("Only the scale changed (right: the module with 1/√d_k): the weights sharpen a little; the missing "
                             "projections are the larger departure.",
                             module, module_dk),
            }};
}

// A step on the trained model: its text, the view, the layer and head shown, what is switched off.
LessonStep model_step(std::string text, const char* sentence, View view, int layer, int head, Ablation ablation = {},
                      std::string zh = "") {
    LessonStep s = step(std::move(text), example(sentence), view, "weights", std::nullopt, std::move(zh));
    s.model = true;
    s.layer = layer;
    s.head = head;
    s.ablation = std::move(ablation);
    return s;
}

constexpr const char* kRepeated = "the cat sat on the mat. the cat sat on the mat.";  // the model's opening text

Lesson trained_head() {
    return {"What a trained head looks at", "训练后的注意力头在看什么",
            {
                model_step("This is attnviz's own trained model: 4 layers of 4 heads, trained on English and Chinese text to predict "
                           "the next character. All heads of layer 1 on a sentence: unlike the lab's random heads, each has a "
                           "clear pattern.",
                           kRepeated, View::heads, 1, 1, {}, "训练后的注意力头有清晰的模式。"),
                model_step("Layer 1, head 1 (outlined) gives the character just before each character more weight than any "
                           "other: a previous-token head (0.73 of its weight on the model card's random probe; the atlas gives "
                           "its score on this sentence). The Lines view draws it: most characters' strongest line goes one "
                           "step back.",
                           kRepeated, View::lines, 1, 1),
                model_step("The atlas labels every head of every layer with its strongest role on this text and on the probe: "
                           "previous-token, first-token (a resting place), self, induction, or broad.",
                           kRepeated, View::atlas, 1, 1),
            }};
}

Lesson induction() {
    return {"Copying: the induction head", "复制：归纳头",
            {
                model_step("A phrase written twice. In large models an induction head, at the second \"the cat\", looks at what "
                           "followed the first one (\"cat\" after \"the\") and the model copies it. The predictions strip: the "
                           "second copy is greener, easier to predict.",
                           kRepeated, View::predictions, 1, 1, {}, "归纳头会查看上一次出现之后的内容，并把它复制过来。"),
                model_step("Does this model copy? The atlas gives each head's induction score on a random sequence repeated "
                           "twice, where only copying helps: every head scores close to 0. This small model, trained for 40 "
                           "minutes, did not form an induction head (the model card says so too); its second copy is easier "
                           "because the words are common, not because it copies. Larger models trained longer do form them.",
                           kRepeated, View::atlas, 1, 1),
            }};
}

Lesson switch_off() {
    return {"Switch a head off", "关掉一个注意力头",
            {
                model_step("Ablation: switch a head off (its output becomes 0) and see what the model loses. First, the intact "
                           "model's predictions and mean loss.",
                           kRepeated, View::predictions, 1, 1, {}, "消融：把一个头的输出置零，看模型失去了什么。"),
                model_step("Layer 1, head 1, the previous-token head, switched off: the mean loss rises, a little, because "
                           "head 2 of the same layer also looks one character back and covers for it; the underlined positions "
                           "changed their most likely next character. Untick or tick any head in the atlas; \"Restore every "
                           "head\" undoes it.",
                           kRepeated, View::predictions, 1, 1, Ablation{{{1, 1}}, {}, {}}),
                model_step("The same switch in the atlas: the head is dimmed. Try another head, or a whole layer's attention.",
                           kRepeated, View::atlas, 1, 1, Ablation{{{1, 1}}, {}, {}}),
            }};
}

Lesson random_vs_trained() {
    LessonStep side = model_step("The same sentence, the trained model's layer 1 head 1 (left) against the one-layer lab's "
                                 "random weights with a causal mask (right): the trained head has a sharp pattern, the random "
                                 "one spreads its weight with no plan.",
                                 kRepeated, View::compare, 1, 1, {}, "同一句话：训练后的头有清晰的模式，随机权重没有。");
    Config lab = example(kRepeated);
    lab.mask = MaskKind::causal;
    side.compare = lab;
    return {"Random weights vs trained", "随机权重与训练后的权重",
            {
                side,
                model_step("The lab's random heads make no predictions at all; the trained model's strip shows which characters "
                           "it expected.",
                           kRepeated, View::predictions, 1, 1),
            }};
}

Lesson feed_forward() {
    return {"The feed-forward network", "前馈网络",
            {
                model_step("Besides attention, every layer has an MLP (the feed-forward network: d → 4d, GELU, → d) applied to "
                           "each position alone. Both add their output to the residual stream: its length grows layer by layer, "
                           "and the logit lens shows what each layer already predicts.",
                           kRepeated, View::residual, 0, 0, {}, "前馈网络对每个位置单独计算，并加到残差流上。"),
                model_step("Layer 0's MLP switched off: the mean loss jumps, far more than for one attention head. Much of what "
                           "the model knows about which characters follow which is stored in its MLPs.",
                           kRepeated, View::predictions, 0, 0, Ablation{{}, {}, {0}}),
            }};
}

// A step in the Train view: `run` starts a run of those settings on entering the step; without
// it the run under way goes on (the step only says what to look at).
LessonStep train_step(std::string text, std::optional<SessionSettings> run = std::nullopt, std::string zh = "") {
    LessonStep s;
    s.text = std::move(text);
    s.zh = std::move(zh);
    s.view = View::train;
    s.train = std::move(run);
    return s;
}

SessionSettings induction_run(int layers) {
    SessionSettings s = default_session(TaskKind::induction);
    s.n_layer = layers;
    return s;
}

Lesson induction_forms() {
    return {"Watch an induction head form", "看归纳头如何形成",
            {
                train_step("A 2-layer, attention-only model learns the induction task: sequences that repeat a random stretch of "
                           "symbols, where the next symbol is whatever followed the current one last time. Watch the loss: it "
                           "sinks slowly, then drops steeply between steps 100 and 250 (in this run, seed 1).",
                           induction_run(2), "损失先缓慢下降，然后突然骤降。"),
                train_step("Layer 0 grows previous-token heads: their heatmaps fill the line just below the diagonal, and their "
                           "previous-token scores (the chart below the heads) climb. Each writes \"the symbol before me\" into its "
                           "position.",
                           std::nullopt, "第 0 层学会看前一个符号，并把它写进当前位置。"),
                train_step("At the same steps, layer 1's heads become induction heads: each row lights up one position after the "
                           "current symbol's earlier occurrence, a stripe parallel to the diagonal at the repeat's period. Their "
                           "induction scores rise exactly while the loss drops: the two layers learn together, because neither "
                           "helps without the other. Drag the scrubber back to watch it happen.",
                           std::nullopt, "归纳头出现的时刻，正是损失骤降的时刻。"),
            }};
}

Lesson one_layer_cannot_copy() {
    return {"Why one layer cannot copy", "为什么一层注意力学不会复制",
            {
                train_step("The same induction task with one layer. Its accuracy stalls near a quarter: a single layer can find the "
                           "earlier occurrence of the current symbol, but that position holds the symbol itself, not what followed "
                           "it; to land on the position after it, the key there must know its predecessor, and only an earlier "
                           "layer can write that.",
                           induction_run(1), "一层模型无法把“前一个字符”的信息传给键。"),
                train_step("Now two layers, with the one-layer run drawn in grey for comparison. Layer 0 copies each symbol's "
                           "predecessor into its position; layer 1 then finds the position whose predecessor is the current symbol, "
                           "and reads the symbol there. Two steps of attention composed: that is what one layer lacks.",
                           induction_run(2), "两层注意力的组合（K-composition）才能完成复制。"),
            }};
}

Lesson sorting() {
    SessionSettings sort = default_session(TaskKind::sort);
    return {"Sorting with attention", "用注意力排序",
            {
                train_step("The model sees 16 random symbols, a bar, and must write them in alphabetical order. Attention alone, two "
                           "layers: the accuracy climbs to 99 % within about a thousand steps.",
                           sort, "模型看到一串随机符号，然后按字母顺序写出来。"),
                train_step("Once it sorts, look at the rows after the bar (the lower half of each heatmap): every head looks back "
                           "into the first half, at a few symbols chosen by content, not by position. In layer 1 a head's strongest "
                           "weight falls on the very symbol the model writes next about half the time, and often on the symbol it "
                           "has just written: the heads share the work of finding the next symbol in order, with no pair compared "
                           "one by one.",
                           std::nullopt, "注意力按内容而不是按位置选择下一个符号。"),
            }};
}

// A step in the Images view.
LessonStep image_step(std::string text, ImageStep image, std::string zh) {
    LessonStep s;
    s.text = std::move(text);
    s.zh = std::move(zh);
    s.view = View::images;
    s.image = std::move(image);
    return s;
}

Lesson attention_over_an_image() {
    // the digits model's first gallery image, a 1 (claims checked against the shipped vit_digits)
    const ImageStep one{"digits", 0, ImageOverlay::none, 1, -1, {}};
    ImageStep looks = one, rollout = one, off = one;
    looks.overlay = ImageOverlay::class_token;
    rollout.overlay = ImageOverlay::rollout;
    off.overlay = ImageOverlay::class_token;
    off.layer = 0;
    off.heads_off = {{0, 2}};
    return {"Attention over an image", "图像上的注意力",
            {
                image_step("A Vision Transformer reads an image as a sequence. This 8×8 handwritten digit is cut into 16 patches "
                           "of 2×2 pixels (the orange grid); each patch's 4 pixels go through one learned matrix into a vector: a "
                           "token, as a character is for the language model. A class token with no pixels goes first, and learned "
                           "positions tell the patches apart. There is no mask: every token sees every token.",
                           one, "图像被切成小块，每一块就是一个词元（token）。"),
                image_step("After two layers, the class token's vector is read out as the answer (the bars). Laid over the image: "
                           "how much of the class token's attention in layer 1 each patch gets, brighter for more. The small maps "
                           "show each head on its own; click one to lay it over the image. Point at a patch to see where that "
                           "patch looks instead.",
                           looks, "类别词元（CLS）通过注意力读取所有小块，最后给出分类。"),
                image_step("Attention rollout (Abnar and Zuidema, 2020) follows the attention through both layers: each layer's mean "
                           "attention plus the residual path, multiplied together. It shows what the class token draws on in the end, "
                           "directly or through other patches.",
                           rollout, "注意力展开（rollout）把各层的注意力相乘，追踪信息的来源。"),
                image_step("Switch off one head, head 2 of layer 0 (its box under the small map), and this 1 is read as an 8, "
                           "with near certainty. One head out of eight changes the answer: the heads are not interchangeable. "
                           "Switch it on again, or try the others: most change little.",
                           off, "关掉第 0 层的第 2 个头，模型就把这个 1 认成了 8。"),
            }};
}

}  // namespace

const std::vector<Lesson>& lessons() {
    static const std::vector<Lesson> all = {
        dot_products(), scaling(), softmax_temperature(), masks(), multi_head(), positions(), efficient(), article_module(),
        trained_head(), induction(), switch_off(), random_vs_trained(), feed_forward(),
        induction_forms(), one_layer_cannot_copy(), sorting(), attention_over_an_image(),
    };
    return all;
}

}  // namespace attnviz::app
