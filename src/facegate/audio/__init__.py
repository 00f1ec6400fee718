"""The wake-phrase cascade: audio sources, voice activity, spectrogram, trigger model."""
