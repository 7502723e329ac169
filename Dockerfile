# One image for the worker, the API and migrations (docker-compose.yml picks the command).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts=false
COPY . .
RUN npm run build:web
ENV NODE_ENV=production
CMD ["npm", "run", "api"]
