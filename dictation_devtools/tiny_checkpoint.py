"""Build a Qwen3-ASR checkpoint with random weights that the real `qwen_asr` code loads.

Real weights cannot be downloaded here, so tests (and `scripts/bench_gpu.py`, at real sizes) write a
checkpoint directory at run time: tokenizer, processor, chat template, config and safetensors. Everything
above the weights is the genuine Qwen3-ASR stack, so loading, prompting, feature extraction, generation and
output parsing are exercised for real. The text it produces is random, often with control characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|audio_start|>",
    "<|audio_end|>",
    "<|audio_pad|>",
    "<asr_text>",
]

# Renders the messages the way Qwen3ASRModel._build_messages builds them: a system turn carrying the
# context, a user turn holding one audio item, then the assistant generation prompt.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for item in message['content'] %}"
    "{% if item['type'] == 'audio' %}<|audio_start|><|audio_pad|><|audio_end|>"
    "{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_TRAINING_TEXT = [
    "language English<asr_text>hello world this is a dictation test",
    "language Chinese<asr_text>你好世界，这是一个听写测试。",
    "the quick brown fox jumps over the lazy dog 0123456789",
    "我们今天去公园散步，天气很好。",
    "language None<asr_text>",
]


@dataclass(frozen=True)
class CheckpointShape:
    """Sizes of the audio encoder and the text decoder.

    The default is tiny (about 100k parameters) for CPU tests. `scripts/bench_gpu.py` passes the shapes of the
    real 0.6B and 1.7B models.
    """

    vocab_size: int = 512
    audio_d_model: int = 32
    audio_layers: int = 1
    audio_heads: int = 2
    audio_ffn: int = 64
    audio_downsample: int = 8
    text_hidden: int = 32
    text_layers: int = 1
    text_heads: int = 2
    text_kv_heads: int = 1
    text_head_dim: int = 16
    text_intermediate: int = 64
    max_position_embeddings: int = 8192


def train_tokenizer(directory: Path, vocab_size: int) -> dict[str, int]:
    """Train a tiny byte-level BPE with Qwen3-ASR's special tokens into `directory`; return their ids."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import Qwen2TokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - len(SPECIAL_TOKENS),
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_TRAINING_TEXT * 4, trainer=trainer)
    fast = Qwen2TokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        bos_token=None,
        extra_special_tokens={
            "audio_token": "<|audio_pad|>",
            "audio_bos_token": "<|audio_start|>",
            "audio_eos_token": "<|audio_end|>",
        },
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(directory)
    return {token: fast.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}


def checkpoint_config(shape: CheckpointShape, ids: dict[str, int], vocab_size: int) -> dict:
    """The Qwen3ASRConfig keyword arguments for `shape` (also used by scripts/bench_gpu.py at real sizes)."""
    half = shape.text_head_dim // 2
    mrope = [half - 2 * (half // 3), half // 3, half // 3]
    return {
        "architectures": ["Qwen3ASRForConditionalGeneration"],
        "model_type": "qwen3_asr",
        "support_languages": ["Chinese", "English"],
        "thinker_config": {
            "audio_token_id": ids["<|audio_pad|>"],
            "audio_start_token_id": ids["<|audio_start|>"],
            "user_token_id": ids["<|im_start|>"],
            "audio_config": {
                "num_mel_bins": 128,
                "encoder_layers": shape.audio_layers,
                "encoder_attention_heads": shape.audio_heads,
                "encoder_ffn_dim": shape.audio_ffn,
                "d_model": shape.audio_d_model,
                "max_source_positions": 1500,
                # The processor assumes 100-frame chunks (2 * n_window).
                "n_window": 50,
                "n_window_infer": 800,
                "conv_chunksize": 500,
                "downsample_hidden_size": shape.audio_downsample,
                "output_dim": shape.text_hidden,
            },
            "text_config": {
                "vocab_size": vocab_size,
                "hidden_size": shape.text_hidden,
                "intermediate_size": shape.text_intermediate,
                "num_hidden_layers": shape.text_layers,
                "num_attention_heads": shape.text_heads,
                "num_key_value_heads": shape.text_kv_heads,
                "head_dim": shape.text_head_dim,
                "max_position_embeddings": shape.max_position_embeddings,
                "rope_theta": 1000000.0,
                "rope_scaling": {"rope_type": "default", "mrope_section": mrope, "interleaved": True},
                "tie_word_embeddings": True,
            },
        },
        "torch_dtype": "float32",
        "transformers_version": "4.57.6",
    }


def build_checkpoint(directory: Path, shape: CheckpointShape | None = None, seed: int = 0) -> Path:
    """Write a loadable random-weight Qwen3-ASR checkpoint into `directory` and return its absolute path."""
    import torch
    from qwen_asr.core.transformers_backend import (
        Qwen3ASRConfig,
        Qwen3ASRForConditionalGeneration,
        Qwen3ASRProcessor,
    )
    from transformers import WhisperFeatureExtractor

    shape = shape or CheckpointShape()
    directory = Path(directory).absolute()
    directory.mkdir(parents=True, exist_ok=True)
    ids = train_tokenizer(directory, shape.vocab_size)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(directory)
    vocab_size = max(shape.vocab_size, len(tokenizer))

    config = Qwen3ASRConfig(**checkpoint_config(shape, ids, vocab_size))
    torch.manual_seed(seed)
    model = Qwen3ASRForConditionalGeneration(config)
    if shape == CheckpointShape():
        # At the default init (std 0.02) a tiny model repeats one token forever; wider weights make it
        # emit varied random text, control characters included, which is what the client must survive.
        with torch.no_grad():
            for name, param in model.named_parameters():
                if param.dim() >= 2 and ("embed" in name or "lm_head" in name or "proj" in name):
                    param.normal_(0.0, 1.0)
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.save_pretrained(directory, safe_serialization=True)

    processor = Qwen3ASRProcessor(
        feature_extractor=WhisperFeatureExtractor(feature_size=128),
        tokenizer=tokenizer,
        chat_template=CHAT_TEMPLATE,
    )
    processor.save_pretrained(directory)
    return directory
