"""The trainer: labels to a leak-free split, InceptionV3 transfer learning, export."""
