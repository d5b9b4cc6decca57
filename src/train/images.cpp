// images.cpp — Fashion-MNIST and scikit-learn's digits from their Debian packages (images.hpp).
#include "images.hpp"

#include <algorithm>
#include <cstdint>
#include <numeric>

#include <zlib.h>

#include "random.hpp"

namespace attnviz::train {

Expected<std::string> read_gzip(const std::string& path) {
    gzFile f = gzopen(path.c_str(), "rb");
    if (!f) return fail(path + ": cannot be opened");
    std::string out;
    char buf[1 << 16];
    int n;
    while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    const bool failed = n < 0;
    gzclose(f);
    if (failed) return fail(path + ": not a readable gzip file");
    return out;
}

namespace {

std::uint32_t big_endian(const std::string& bytes, std::size_t at) {
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) v = v << 8 | static_cast<unsigned char>(bytes[at + k]);
    return v;
}

// An IDX file: magic 0x00000803 (images: count, rows, columns) or 0x00000801 (labels: count),
// then unsigned bytes.
Expected<ImageSet> read_idx_pair(const std::string& images_path, const std::string& labels_path, const char* package) {
    Expected<std::string> images = read_gzip(images_path);
    if (!images) return fail(images.error() + " (apt-get install " + package + ")");
    Expected<std::string> labels = read_gzip(labels_path);
    if (!labels) return fail(labels.error() + " (apt-get install " + package + ")");
    const std::string& im = images.value();
    const std::string& lb = labels.value();
    if (im.size() < 16 || big_endian(im, 0) != 0x803) return fail(images_path + ": expected an IDX image file (magic 0x00000803)");
    if (lb.size() < 8 || big_endian(lb, 0) != 0x801) return fail(labels_path + ": expected an IDX label file (magic 0x00000801)");
    const std::uint32_t n = big_endian(im, 4), rows = big_endian(im, 8), cols = big_endian(im, 12);
    if (rows != cols || rows == 0 || rows > 256) return fail(images_path + ": expected square images of at most 256 pixels a side");
    if (im.size() != 16 + static_cast<std::size_t>(n) * rows * cols) return fail(images_path + ": expected " + std::to_string(n) + " images, the file is cut short");
    if (big_endian(lb, 4) != n || lb.size() != 8 + static_cast<std::size_t>(n))
        return fail(labels_path + ": expected " + std::to_string(n) + " labels, one per image");
    ImageSet set;
    set.size = static_cast<int>(rows);
    set.pixels.resize(static_cast<std::size_t>(n) * rows * cols);
    for (std::size_t i = 0; i < set.pixels.size(); ++i) set.pixels[i] = static_cast<unsigned char>(im[16 + i]) / 255.0f;
    set.labels.resize(n);
    for (std::uint32_t i = 0; i < n; ++i) set.labels[i] = static_cast<unsigned char>(lb[8 + i]);
    return set;
}

}  // namespace

Expected<ImageData> load_fashion_mnist(const std::string& dir) {
    ImageData data;
    data.name = "fashion-mnist";
    data.classes = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
    Expected<ImageSet> train = read_idx_pair(dir + "/train-images-idx3-ubyte.gz", dir + "/train-labels-idx1-ubyte.gz", "dataset-fashion-mnist");
    if (!train) return fail(train.error());
    Expected<ImageSet> test = read_idx_pair(dir + "/t10k-images-idx3-ubyte.gz", dir + "/t10k-labels-idx1-ubyte.gz", "dataset-fashion-mnist");
    if (!test) return fail(test.error());
    data.train = std::move(train.value());
    data.test = std::move(test.value());
    for (const ImageSet* s : {&data.train, &data.test})
        for (int l : s->labels)
            if (l >= static_cast<int>(data.classes.size())) return fail(dir + ": expected labels 0 to 9, got " + std::to_string(l));
    data.source = "Debian package dataset-fashion-mnist (" + dir + "/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz), Zalando Research";
    data.licence = "MIT (Expat), see /usr/share/doc/dataset-fashion-mnist/copyright";
    data.split = "the dataset's own: 60,000 training images, 10,000 test images";
    return data;
}

Expected<ImageData> load_digits(const std::string& path, int test_count, unsigned long long seed) {
    Expected<std::string> text = read_gzip(path);
    if (!text) return fail(text.error() + " (apt-get install python3-sklearn)");
    std::vector<float> pixels;
    std::vector<int> labels;
    std::size_t at = 0, line = 1;
    const std::string& s = text.value();
    while (at < s.size()) {
        std::size_t end = s.find('\n', at);
        if (end == std::string::npos) end = s.size();
        if (end > at) {
            int fields = 0;
            std::size_t p = at;
            while (p <= end && fields < 65) {
                const std::size_t comma = std::min(s.find(',', p), end);
                const std::string field = s.substr(p, comma - p);
                char* stop = nullptr;
                const long v = std::strtol(field.c_str(), &stop, 10);
                if (field.empty() || *stop != '\0' || v < 0 || v > 16)
                    return fail(path + ": line " + std::to_string(line) + ": expected 64 pixels from 0 to 16 and a digit");
                if (fields < 64) pixels.push_back(static_cast<float>(v) / 16.0f);
                else labels.push_back(static_cast<int>(v));
                ++fields;
                p = comma + 1;
            }
            if (fields != 65 || labels.back() > 9) return fail(path + ": line " + std::to_string(line) + ": expected 65 comma-separated numbers");
        }
        at = end + 1;
        ++line;
    }
    const int n = static_cast<int>(labels.size());
    if (n <= test_count) return fail(path + ": expected more than " + std::to_string(test_count) + " images, got " + std::to_string(n));
    // the held-out split: a Fisher–Yates permutation from the core's seeded generator
    std::vector<int> order(n);
    std::iota(order.begin(), order.end(), 0);
    random::SplitMix64 rng(random::mix(seed));
    for (int i = n - 1; i > 0; --i) std::swap(order[i], order[rng.below(static_cast<std::uint32_t>(i + 1))]);
    ImageData data;
    data.name = "digits";
    data.classes = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
    for (ImageSet* set : {&data.train, &data.test}) set->size = 8;
    for (int k = 0; k < n; ++k) {
        ImageSet& set = k < n - test_count ? data.train : data.test;
        const int i = order[k];
        set.pixels.insert(set.pixels.end(), pixels.begin() + i * 64, pixels.begin() + (i + 1) * 64);
        set.labels.push_back(labels[i]);
    }
    data.source = "scikit-learn's bundled copy (" + path + ", Debian package python3-sklearn) of the UCI optical recognition of "
                  "handwritten digits test set: 1,797 images of 8×8 pixels (counts 0 to 16)";
    data.licence = "UCI ML repository, CC BY 4.0 (Alpaydin and Kaynak, 1998); scikit-learn BSD-3-Clause";
    data.split = std::to_string(test_count) + " images held out for test by a permutation seeded with " + std::to_string(seed) +
                 " (the rest, " + std::to_string(n - test_count) + ", train)";
    return data;
}

void shift_image(float* out, const float* in, int S, int dx, int dy, bool mirror) {
    for (int y = 0; y < S; ++y)
        for (int x = 0; x < S; ++x) {
            const int sx = (mirror ? S - 1 - x : x) - dx, sy = y - dy;
            out[y * S + x] = sx >= 0 && sx < S && sy >= 0 && sy < S ? in[sy * S + sx] : 0.0f;
        }
}

}  // namespace attnviz::train
