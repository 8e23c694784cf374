// Keras file formats: .keras, Keras 3 .weights.h5, legacy .h5 (writers and readers).
