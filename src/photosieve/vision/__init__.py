"""Seeing a photo: decoding it for the model, its quality signals, perceptual hashes and bursts."""
