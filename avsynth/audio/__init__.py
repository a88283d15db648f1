"""Audio: decoding any clip to 16 kHz mono (:mod:`avsynth.audio.decode`) and the VGGish
log-mel front end (:mod:`avsynth.audio.logmel`)."""
