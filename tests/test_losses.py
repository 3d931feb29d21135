"""The β-ELBO's terms against torch.distributions: the closed-form KL against ``kl_divergence``, the Gaussian
decoder's likelihood against ``Normal.log_prob``, and the loss and −ELBO assembled from them."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Independent, Normal, kl_divergence

from vae_core.config import ModelConfig
from vae_core.losses import bits_per_dim, elbo_terms
from vae_core.model import Posterior

CFG = ModelConfig(resolution=32, latent_dim=6, channels=(4, 8, 8), obs_std=0.2)


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor, Posterior]:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(5, 3, 32, 32, generator=g, dtype=torch.float64)
    x_hat = torch.rand(5, 3, 32, 32, generator=g, dtype=torch.float64)
    post = Posterior(mean=torch.randn(5, 6, generator=g, dtype=torch.float64) * 2,
                     logvar=torch.randn(5, 6, generator=g, dtype=torch.float64))
    return x, x_hat, post


def test_kl_is_the_divergence_from_the_standard_normal_prior(batch):
    _, _, post = batch
    q, prior = Normal(post.mean, post.std), Normal(torch.zeros_like(post.mean), torch.ones_like(post.std))
    torch.testing.assert_close(post.kl_per_dim(), kl_divergence(q, prior))
    torch.testing.assert_close(post.kl(), kl_divergence(Independent(q, 1), Independent(prior, 1)))


def test_reconstruction_term_is_the_gaussian_decoders_negative_log_likelihood(batch):
    x, x_hat, post = batch
    terms = elbo_terms(x, x_hat, post, CFG, beta=1.0)
    nll = -Independent(Normal(x_hat, CFG.obs_std), 3).log_prob(x)  # [B]: per image, constant included
    torch.testing.assert_close(terms.recon_nll, nll.mean())
    torch.testing.assert_close(terms.mse, (x_hat - x).pow(2).mean())


@pytest.mark.parametrize("beta", [0.0, 1.0, 4.0])
def test_loss_is_the_beta_elbo_without_the_constant(batch, beta):
    """What is minimised: −log p(x|z) less its constant D·log(σ√2π) (no gradient), plus β·KL."""
    x, x_hat, post = batch
    terms = elbo_terms(x, x_hat, post, CFG, beta=beta)
    nll = -Independent(Normal(x_hat, CFG.obs_std), 3).log_prob(x)
    const = CFG.data_dim * math.log(CFG.obs_std * math.sqrt(2 * math.pi))
    kl = kl_divergence(Independent(Normal(post.mean, post.std), 1),
                       Independent(Normal(torch.zeros_like(post.mean), 1.0), 1))
    torch.testing.assert_close(terms.loss, (nll - const + beta * kl).mean())
    torch.testing.assert_close(terms.kl, kl.mean())
    torch.testing.assert_close(terms.kl_per_dim.sum(), kl.mean())


def test_bits_per_dim_puts_the_nelbo_on_the_8_bit_scale():
    """A density that is uniform on [0, 1] (−ELBO 0 nats) is a uniform model of 8-bit pixels: 8 bits/dim."""
    assert bits_per_dim(0.0, CFG) == pytest.approx(8.0)
    assert bits_per_dim(-CFG.data_dim * math.log(2), CFG) == pytest.approx(7.0)
