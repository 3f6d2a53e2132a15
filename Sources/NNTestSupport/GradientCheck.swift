import NNCore
