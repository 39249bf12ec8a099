// Corpus statistics like the paper's Table 1: movies, scene descriptions, speech segments,
// sentences, words and unique words (sentences and words over both kinds of element).
import type { Element } from '../screenplay/types.ts';
import { splitSentences } from '../sentences.ts';
import { forEachWord } from './sentences.ts';

export interface CorpusStats {
  movies: number;
  scene_descriptions: number;
  speech_segments: number;
  sentences: number;
  words: number;
  unique_words: number;
}

export class CorpusStatsCounter {
  private movies = 0;
  private sceneDescriptions = 0;
  private speechSegments = 0;
  private sentences = 0;
  private words = 0;
  private readonly vocabulary = new Set<string>();

  addMovie(elements: readonly Element[]): void {
    this.movies++;
    for (const e of elements) {
      if (e.type === 'action') this.sceneDescriptions++;
      else if (e.type === 'speech') this.speechSegments++;
      else continue;
      if (!e.text) continue;
      this.sentences += splitSentences(e.text).length;
      forEachWord(e.text, (w) => {
        this.words++;
        this.vocabulary.add(w.toLowerCase());
      });
    }
  }

  /** Adds the counts and vocabulary gathered by another counter (e.g. in a worker thread). */
  merge(part: { stats: CorpusStats; vocabulary: Iterable<string> }): void {
    this.movies += part.stats.movies;
    this.sceneDescriptions += part.stats.scene_descriptions;
    this.speechSegments += part.stats.speech_segments;
    this.sentences += part.stats.sentences;
    this.words += part.stats.words;
    for (const w of part.vocabulary) this.vocabulary.add(w);
  }

  /** Counts plus the vocabulary itself, for merging elsewhere. */
  snapshot(): { stats: CorpusStats; vocabulary: string[] } {
    return { stats: this.result(), vocabulary: [...this.vocabulary] };
  }

  result(): CorpusStats {
    return {
      movies: this.movies,
      scene_descriptions: this.sceneDescriptions,
      speech_segments: this.speechSegments,
      sentences: this.sentences,
      words: this.words,
      unique_words: this.vocabulary.size,
    };
  }
}

export function corpusStats(movies: Iterable<readonly Element[]>): CorpusStats {
  const c = new CorpusStatsCounter();
  for (const m of movies) c.addMovie(m);
  return c.result();
}
