"""The network and its data, with no Qt: architecture, MNIST, preprocessing, inference, training, CLI."""
