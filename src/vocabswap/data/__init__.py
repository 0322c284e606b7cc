"""Data: acquisition, packaged offline sources, readers, cleaning, splits and multilingual sampling.

Entry points (one per workflow stage; each writes its outputs atomically):

- ``sources.fetch_corpus(source, out, *, lang=None, max_bytes=None, token=None) -> dict``: raw text
- ``packaged.packaged_raw_text(name, out) -> int``: train-sentence text of a packaged treebank
- ``clean.clean_corpus(in_path, out, *, lang, filter_english, stats_path, params, workers) -> CleanStats``
- ``splits.split_lines(in_path, *, train, dev, dev_lines, seed) -> dict``: LAPT dev hold-out
- ``sampling.sample_multilingual(inputs, out, *, alpha, lines, seed, cap_bytes, max_repeat) -> dict``; a
  multilingual target's LAPT/dev/tokenizer samples sized to their use: ``sampling.plan_sampling(sampling,
  lapt, tokenizer)`` then ``sampling.sample_target(train, dev, outputs, plan, *, composition_path)``
- ``evalsets.build_eval_set(source, lang, task, out_dir, *, seed, dev_from_train, resplit, ...) -> dict``;
  from the workflow's config slice: ``evalsets.build_eval_set_from_settings(settings, task, out_dir)``
- ``tagged.read_tagged(path)`` / ``tagged.write_tagged(path, sentences)``: the evaluation file format
"""
