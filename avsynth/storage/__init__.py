"""Files a command writes: atomic writes (:mod:`avsynth.storage.atomic`), output paths
checked before any work (:mod:`avsynth.storage.out_paths`), the locked build folder
(:mod:`avsynth.storage.outfolder`) and where a build puts each file
(:mod:`avsynth.storage.layout`)."""
