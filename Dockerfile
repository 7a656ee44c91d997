# The libshare image for docker-compose.yml (for users who have Docker; nothing of ours
# needs it). One image runs the API, the relay and the projector.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain domain
COPY infra infra
COPY services services
COPY projections projections
COPY workers workers
COPY composition composition
COPY api api
RUN pip install --no-cache-dir .
ENV LIBSHARE_HOST=0.0.0.0 LIBSHARE_PORT=8000
EXPOSE 8000
CMD ["libshare", "serve", "--no-workers"]
