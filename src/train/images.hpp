// images.hpp — the image datasets the shipped Vision Transformers learn from, as Debian packages
// ship them: Fashion-MNIST (dataset-fashion-mnist: 28×28, 60,000 training and 10,000 test images)
// and the 8×8 handwritten digits bundled with scikit-learn (python3-sklearn: 1,797 images, a
// fixed seeded held-out split). Native only (the command-line trainer); zlib reads the .gz files.
//
// Index
//   1. ImageSet / ImageData   pixels in [0, 1], labels, class names, where they came from
//   2. Loaders                load_fashion_mnist, load_digits (clear errors naming the file)
//   3. Augmentation           shift_image: a seeded translation with zero fill, and a left-right mirror
#pragma once

#include <string>
#include <vector>

#include "attnviz/expected.hpp"

namespace attnviz::train {

//-----------------------------------------------------------------------------
// 1. ImageSet / ImageData
//-----------------------------------------------------------------------------
struct ImageSet {
    int                size = 0;   // S: each image is S×S pixels
    std::vector<float> pixels;     // (n, S·S) row by row, 0 = background, 1 = ink
    std::vector<int>   labels;     // (n) class ids
    int count() const { return static_cast<int>(labels.size()); }
    const float* image(int i) const { return pixels.data() + static_cast<std::size_t>(i) * size * size; }
};

struct ImageData {
    std::string              name;      // "fashion-mnist", "digits"
    std::vector<std::string> classes;   // (V) class names, the model's vocabulary
    ImageSet                 train, test;
    std::string              source;    // the package and files read
    std::string              licence;
    std::string              split;     // how train and test were separated
};

//-----------------------------------------------------------------------------
// 2. Loaders
//-----------------------------------------------------------------------------
// The four IDX files of Fashion-MNIST (train-images-idx3-ubyte.gz, …) in `dir`; pixels / 255.
Expected<ImageData> load_fashion_mnist(const std::string& dir = "/usr/share/datasets/fashion-mnist");

// scikit-learn's digits.csv.gz (1,797 rows of 64 pixels from 0 to 16, then the digit); pixels / 16.
// The held-out split: `test_count` images chosen by a permutation seeded with `seed`.
Expected<ImageData> load_digits(const std::string& path = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz",
                                int test_count = 360, unsigned long long seed = 20261202);

// The whole decompressed contents of a gzip file.
Expected<std::string> read_gzip(const std::string& path);

//-----------------------------------------------------------------------------
// 3. Augmentation
//-----------------------------------------------------------------------------
// out (S·S) = in moved by (dx, dy) pixels (right and down when positive), zeros where nothing moved
// in; mirror: left and right swapped first.
void shift_image(float* out, const float* in, int S, int dx, int dy, bool mirror = false);

}  // namespace attnviz::train
