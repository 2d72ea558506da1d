"""A trained policy exported for serving: the actor network's weights as plain float32 arrays, run with
numpy, so one action costs microseconds and serving needs neither torch nor stable-baselines3.

Only the deterministic action is served (the mean of the policy's distribution, clipped to the action
space, as stable-baselines3's `predict(deterministic=True)` gives it); tests/rl check the two agree.
"""

import io
from dataclasses import dataclass

import numpy as np

from tradingsite.exceptions import ApplicationError

ACTIVATIONS = {"Tanh": np.tanh, "ReLU": lambda x: np.maximum(x, 0.0)}


@dataclass
class ExportedPolicy:
    layers: list[tuple[np.ndarray, np.ndarray]]  # (weight transposed: inputs x outputs, bias), hidden then action
    activation: str
    low: np.ndarray
    high: np.ndarray

    def act(self, observation: np.ndarray) -> np.ndarray:
        x = np.asarray(observation, dtype=np.float32)
        activate = ACTIVATIONS[self.activation]
        for weight, bias in self.layers[:-1]:
            x = activate(x @ weight + bias)
        weight, bias = self.layers[-1]
        return np.clip(x @ weight + bias, self.low, self.high)

    def to_bytes(self) -> bytes:
        arrays = {"low": self.low, "high": self.high, "activation": np.array(self.activation)}
        for k, (weight, bias) in enumerate(self.layers):
            arrays[f"w{k}"], arrays[f"b{k}"] = weight, bias
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "ExportedPolicy":
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            count = sum(1 for name in arrays.files if name.startswith("w"))
            layers = [(arrays[f"w{k}"], arrays[f"b{k}"]) for k in range(count)]
            return cls(layers, str(arrays["activation"]), arrays["low"], arrays["high"])


def policy_fits(policy: ExportedPolicy) -> None:
    """Refuse a policy whose actions are not the environment's (-1 to 1 per instrument): one exported
    before the action space was centred answered 0 to 1, which would now mean other weights."""
    if not (np.all(policy.low == -1.0) and np.all(policy.high == 1.0)):
        raise ApplicationError(
            f"the policy answers {float(policy.low.min())} to {float(policy.high.max())}, not the environment's "
            "-1 to 1: it was trained on an older action space; train it again"
        )


def policy_export(model) -> ExportedPolicy:
    """The deterministic actor of a stable-baselines3 PPO or A2C model with an MLP policy."""
    import torch

    policy = model.policy
    layers, activation = [], None
    for module in policy.mlp_extractor.policy_net:
        if isinstance(module, torch.nn.Linear):
            layers.append(linear_arrays(module))
        elif type(module).__name__ in ACTIVATIONS:
            activation = type(module).__name__
        else:
            raise ValueError(f"cannot export a policy layer {type(module).__name__}")
    layers.append(linear_arrays(policy.action_net))
    space = model.action_space
    return ExportedPolicy(layers, activation or "Tanh", space.low.astype(np.float32), space.high.astype(np.float32))


def linear_arrays(module) -> tuple[np.ndarray, np.ndarray]:
    weight = module.weight.detach().cpu().numpy().astype(np.float32)
    bias = module.bias.detach().cpu().numpy().astype(np.float32)
    return np.ascontiguousarray(weight.T), bias
